// A forgot-password request waiting to be turned into a reset token and a mail.
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'password_reset_requests' })
export class PasswordResetRequestEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id: string;

  @Column({ type: 'varchar', length: 254 })
  address: string;

  @Column({ name: 'requested_at', type: 'timestamptz' })
  requestedAt: Date;
}
