// Owns every bcrypt call. bcrypt's async API runs on libuv's thread pool, never on the event loop.
// Passwords are NFKC-normalised and pre-hashed with HMAC-SHA-256 so that every character counts
// despite bcrypt reading only 72 bytes (the keyed pre-hash also stops "shucking" against plain
// SHA-256 lists). Unknown accounts are compared against a dummy hash of the same cost.
import { Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import * as bcrypt from 'bcrypt';
import { createHmac, randomBytes } from 'node:crypto';
import type { LatchConfig } from '../../../config/configuration';
import { normalizePassword } from './password-policy';

const PREHASH_KEY = 'latch/bcrypt-prehash/v1';

export function prehash(password: string): string {
  return createHmac('sha256', PREHASH_KEY).update(normalizePassword(password), 'utf8').digest('base64');
}

@Injectable()
export class PasswordHasher implements OnModuleInit {
  private readonly rounds: number;
  private dummyHash: Promise<string>;

  constructor(config: ConfigService<LatchConfig, true>) {
    this.rounds = config.get('auth', { infer: true }).bcryptRounds;
  }

  onModuleInit(): void {
    this.dummyHash = bcrypt.hash(randomBytes(16).toString('hex'), this.rounds);
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(prehash(password), this.rounds);
  }

  /** Compares against the stored hash, or spends the same work on a dummy hash when there is none. */
  async verify(password: string, hash: string | null | undefined): Promise<boolean> {
    const target = hash ?? (await this.dummyHash);
    const matches = await bcrypt.compare(prehash(password), target);
    return matches && hash !== null && hash !== undefined;
  }

  /** True when the stored hash was made with a lower cost than configured. */
  needsRehash(hash: string): boolean {
    return bcrypt.getRounds(hash) < this.rounds;
  }
}
