// The durable queue between POST /auth/password/forgot and the reset mail. take() deletes the row
// inside the caller's transaction, so a request is turned into a token and a mail exactly once,
// whichever instance (or the sweep after a crash) gets to it first.
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { row, rows } from '../../database/sql';
import type { PasswordResetRequestEntity } from './password-reset-request.entity';

export type ResetRequest = Pick<PasswordResetRequestEntity, 'id' | 'address'>;

@Injectable()
export class PasswordResetRequestsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async record(address: string): Promise<string> {
    const [recorded] = await rows<PasswordResetRequestEntity, 'id'>(
      this.db,
      `INSERT INTO password_reset_requests (address) VALUES ($1) RETURNING id`,
      [address],
    );
    return recorded.id;
  }

  /** Takes one request: the given one, or the oldest left unprocessed for `staleSeconds`. */
  take(manager: EntityManager, id: string | null, staleSeconds: number): Promise<ResetRequest | null> {
    return row<PasswordResetRequestEntity, 'id' | 'address'>(
      manager,
      `WITH taken AS (
         DELETE FROM password_reset_requests
          WHERE id = (
            SELECT id FROM password_reset_requests
             WHERE ($1::bigint IS NOT NULL AND id = $1::bigint)
                OR ($1::bigint IS NULL AND requested_at < now() - make_interval(secs => $2))
             ORDER BY requested_at
             LIMIT 1
             FOR UPDATE SKIP LOCKED)
          RETURNING id, address
       )
       SELECT id, address FROM taken`,
      [id, staleSeconds],
    );
  }
}
