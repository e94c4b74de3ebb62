// A device (hash of user agent and client address) a user has signed in from, for the new-device notice.
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'known_devices' })
export class KnownDeviceEntity {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  @PrimaryColumn({ name: 'device_hash', type: 'bytea' })
  deviceHash: Buffer;

  @Column({ name: 'first_seen_at', type: 'timestamptz' })
  firstSeenAt: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz' })
  lastSeenAt: Date;
}
