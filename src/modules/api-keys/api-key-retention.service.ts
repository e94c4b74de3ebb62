// What the scheduled cleanup (tokens/token-cleanup.service.ts) may do to api_keys, which belong to
// this module: remove keys that expired longer ago than the retention. An expired key is refused
// at once; its row stays for the retention so that its owner still sees it in GET /api-keys.
import { Injectable } from '@nestjs/common';
import { ApiKeysRepository } from './api-keys.repository';

@Injectable()
export class ApiKeyRetention {
  constructor(private readonly keys: ApiKeysRepository) {}

  /**
   * Removes one batch (at most `limit`) of keys expired more than `retentionDays` ago; returns how
   * many. Nothing to evict: the state cache holds a key no longer than until it expires. Audit rows
   * name a key by id only (no foreign key), so they stay.
   */
  deleteExpiredPastRetention(retentionDays: number, limit: number): Promise<number> {
    return this.keys.deleteExpiredOlderThan(retentionDays, limit);
  }
}
