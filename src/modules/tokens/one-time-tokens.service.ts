// One small service for the two mailed token kinds (password reset, e-mail verification): 256-bit
// opaque values, hashed at rest, single use, with a lifetime. Every method takes the caller's
// EntityManager so that issuing or spending a token commits together with what it is for.
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { OneTimeTokenPurpose } from './one-time-token.entity';
import { OneTimeTokensRepository } from './one-time-tokens.repository';
import { hashToken, newOpaqueToken } from './token-crypto';

/** Longest token looked up; ours are 43 characters, anything longer is refused unread. */
export const ONE_TIME_TOKEN_MAX_LENGTH = 512;

/** The one answer for a mailed token that is unknown, expired or spent. */
export function invalidOneTimeToken(): AppError {
  return new AppError(ErrorCode.InvalidToken, 'The link is invalid, expired or already used.');
}

@Injectable()
export class OneTimeTokensService {
  constructor(private readonly tokens: OneTimeTokensRepository) {}

  /**
   * Issues a token and returns its only plain copy. With `replacePrevious`, the user's unspent
   * tokens of the same purpose stop working (a newer reset link voids older ones).
   */
  async issue(
    manager: EntityManager,
    userId: string,
    purpose: OneTimeTokenPurpose,
    ttlSeconds: number,
    replacePrevious: boolean,
  ): Promise<string> {
    if (replacePrevious) await this.tokens.voidAll(manager, userId, purpose);
    const token = newOpaqueToken();
    await this.tokens.insert(manager, userId, purpose, hashToken(token), ttlSeconds);
    return token;
  }

  /** Whether the token would be accepted now; spends nothing (to skip work for made-up tokens). */
  isLive(manager: EntityManager, token: string, purpose: OneTimeTokenPurpose): Promise<boolean> {
    if (token.length === 0 || token.length > ONE_TIME_TOKEN_MAX_LENGTH) return Promise.resolve(false);
    return this.tokens.isLive(manager, hashToken(token), purpose);
  }

  /** Spends a token; returns its user id, or null when it is unknown, already used or expired. */
  redeem(manager: EntityManager, token: string, purpose: OneTimeTokenPurpose): Promise<string | null> {
    if (token.length === 0 || token.length > ONE_TIME_TOKEN_MAX_LENGTH) return Promise.resolve(null);
    return this.tokens.redeem(manager, hashToken(token), purpose);
  }

  /** Voids the user's unspent tokens of a purpose (after a reset, every other reset link dies). */
  async voidAll(manager: EntityManager, userId: string, purpose: OneTimeTokenPurpose): Promise<void> {
    await this.tokens.voidAll(manager, userId, purpose);
  }
}
