// Every refresh token a session has replaced, so that an old token presented again is recognised
// as theft (reuse detection). Rows go with their session (ON DELETE CASCADE).
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'refresh_token_history' })
export class RefreshTokenHistoryEntity {
  @PrimaryColumn({ name: 'token_hash', type: 'bytea' })
  tokenHash: Buffer;

  @Column({ name: 'session_id', type: 'uuid' })
  sessionId: string;

  @Column({ name: 'replaced_at', type: 'timestamptz' })
  replacedAt: Date;
}
