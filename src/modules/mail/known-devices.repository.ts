// Devices a user has signed in from, kept as a hash of user agent and client address, so the
// new-device notice can tell a first sight from a return.
import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { ClientInfo } from '../../common/events/domain-events';
import { row } from '../../database/sql';

export function deviceHash(client: ClientInfo): Buffer {
  return createHash('sha256')
    .update(`${client.userAgent ?? ''}\n${client.ip ?? ''}`, 'utf8')
    .digest();
}

@Injectable()
export class KnownDevicesRepository {
  /**
   * Records a sign-in from the device in one statement. `firstSight` is true when the device is new
   * for the user; `knewOthers` when the user had signed in from some other device before.
   */
  async remember(
    manager: EntityManager,
    userId: string,
    client: ClientInfo,
  ): Promise<{ firstSight: boolean; knewOthers: boolean }> {
    const seen = await row<{ inserted: boolean; known: number }, 'inserted' | 'known'>(
      manager,
      `WITH known AS (SELECT count(*)::int AS n FROM known_devices WHERE user_id = $1),
            seen AS (
              INSERT INTO known_devices (user_id, device_hash) VALUES ($1, $2)
              ON CONFLICT (user_id, device_hash) DO UPDATE SET last_seen_at = now()
              RETURNING (xmax = 0) AS inserted)
       SELECT seen.inserted, known.n AS known FROM seen, known`,
      [userId, deviceHash(client)],
    );
    return { firstSight: seen?.inserted === true, knewOthers: (seen?.known ?? 0) > 0 };
  }
}
