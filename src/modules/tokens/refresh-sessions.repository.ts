// Refresh sessions. Statements that modify and return rows are wrapped as `WITH … SELECT`, because
// TypeORM's query() answers a bare UPDATE … RETURNING with [rows, count] rather than rows.
// Rotation is one statement (UPDATE ... RETURNING inside a CTE that also records
// the replaced hash), so two requests racing with the same token can never both rotate it.
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export interface SessionMeta {
  userAgent?: string | null;
  ip?: string | null;
}

export interface LiveSession {
  id: string;
  userId: string;
  expiresAt: Date;
}

export interface RotatedSession extends LiveSession {
  rotatedAt: Date;
}

export interface ReplacedTokenState {
  id: string;
  userId: string;
  expiresAt: Date;
  rotatedAt: Date;
  revokedAt: Date | null;
  graceCiphertext: Buffer | null;
  now: Date;
}

export interface SessionRow {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  ip: string | null;
}

@Injectable()
export class RefreshSessionsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async create(userId: string, tokenHash: Buffer, ttlSeconds: number, meta: SessionMeta): Promise<LiveSession> {
    const rows: { id: string; expires_at: Date }[] = await this.db.query(
      `INSERT INTO refresh_sessions (user_id, token_hash, expires_at, user_agent, ip)
       VALUES ($1, $2, now() + make_interval(secs => $3), $4, $5)
       RETURNING id, expires_at`,
      [userId, tokenHash, ttlSeconds, meta.userAgent?.slice(0, 512) ?? null, meta.ip?.slice(0, 64) ?? null],
    );
    return { id: rows[0].id, userId, expiresAt: rows[0].expires_at };
  }

  /** Replaces the current token of a live session; null when the token is not current. */
  async rotate(oldHash: Buffer, newHash: Buffer): Promise<RotatedSession | null> {
    const rows: { id: string; user_id: string; expires_at: Date; rotated_at: Date }[] = await this.db.query(
      `WITH rotated AS (
         UPDATE refresh_sessions
            SET previous_token_hash = token_hash, token_hash = $2, rotated_at = now(),
                last_used_at = now(), grace_ciphertext = NULL
          WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
          RETURNING id, user_id, expires_at, rotated_at
       ), remembered AS (
         INSERT INTO refresh_token_history (token_hash, session_id)
         SELECT $1, id FROM rotated
       )
       SELECT id, user_id, expires_at, rotated_at FROM rotated`,
      [oldHash, newHash],
    );
    const row = rows[0];
    return row ? { id: row.id, userId: row.user_id, expiresAt: row.expires_at, rotatedAt: row.rotated_at } : null;
  }

  async storeGraceCiphertext(sessionId: string, currentHash: Buffer, ciphertext: Buffer): Promise<void> {
    await this.db.query(`UPDATE refresh_sessions SET grace_ciphertext = $3 WHERE id = $1 AND token_hash = $2`, [
      sessionId,
      currentHash,
      ciphertext,
    ]);
  }

  /** The session whose token was just replaced by this one, if any. */
  async findByReplacedToken(hash: Buffer): Promise<ReplacedTokenState | null> {
    const rows: {
      id: string;
      user_id: string;
      expires_at: Date;
      rotated_at: Date;
      revoked_at: Date | null;
      grace_ciphertext: Buffer | null;
      now: Date;
    }[] = await this.db.query(
      `SELECT id, user_id, expires_at, rotated_at, revoked_at, grace_ciphertext, now() AS now
         FROM refresh_sessions WHERE previous_token_hash = $1`,
      [hash],
    );
    const row = rows[0];
    return row
      ? {
          id: row.id,
          userId: row.user_id,
          expiresAt: row.expires_at,
          rotatedAt: row.rotated_at,
          revokedAt: row.revoked_at,
          graceCiphertext: row.grace_ciphertext,
          now: row.now,
        }
      : null;
  }

  /** The session an older (already replaced) token belonged to, for reuse detection. */
  async findSessionOfHistoricToken(hash: Buffer): Promise<{ id: string; userId: string } | null> {
    const rows: { id: string; user_id: string }[] = await this.db.query(
      `SELECT s.id, s.user_id FROM refresh_token_history h
         JOIN refresh_sessions s ON s.id = h.session_id
        WHERE h.token_hash = $1`,
      [hash],
    );
    return rows[0] ? { id: rows[0].id, userId: rows[0].user_id } : null;
  }

  async getLive(sessionId: string): Promise<LiveSession | null> {
    const rows: { id: string; user_id: string; expires_at: Date }[] = await this.db.query(
      `SELECT id, user_id, expires_at FROM refresh_sessions
        WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [sessionId],
    );
    return rows[0] ? { id: rows[0].id, userId: rows[0].user_id, expiresAt: rows[0].expires_at } : null;
  }

  async listLive(userId: string): Promise<SessionRow[]> {
    const rows: {
      id: string;
      created_at: Date;
      last_used_at: Date;
      expires_at: Date;
      user_agent: string | null;
      ip: string | null;
    }[] = await this.db.query(
      `SELECT id, created_at, last_used_at, expires_at, user_agent, ip FROM refresh_sessions
        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
        ORDER BY last_used_at DESC`,
      [userId],
    );
    return rows.map((r) => ({
      id: r.id,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
      expiresAt: r.expires_at,
      userAgent: r.user_agent,
      ip: r.ip,
    }));
  }

  /** Revokes one session, optionally only if it belongs to the user; returns whether a live one was ended. */
  async revoke(sessionId: string, reason: string, ownerId?: string): Promise<LiveSession | null> {
    const rows: { id: string; user_id: string; expires_at: Date }[] = await this.db.query(
      `WITH revoked AS (
         UPDATE refresh_sessions SET revoked_at = now(), revoked_reason = $2, grace_ciphertext = NULL
          WHERE id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR user_id = $3::uuid)
          RETURNING id, user_id, expires_at
       )
       SELECT id, user_id, expires_at FROM revoked`,
      [sessionId, reason, ownerId ?? null],
    );
    return rows[0] ? { id: rows[0].id, userId: rows[0].user_id, expiresAt: rows[0].expires_at } : null;
  }

  /** Revokes every live session of a user except one; returns the ids ended. */
  async revokeAllForUser(userId: string, reason: string, exceptSessionId?: string): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `WITH revoked AS (
         UPDATE refresh_sessions SET revoked_at = now(), revoked_reason = $2, grace_ciphertext = NULL
          WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid)
          RETURNING id
       )
       SELECT id FROM revoked`,
      [userId, reason, exceptSessionId ?? null],
    );
    return rows.map((r) => r.id);
  }

  async countLive(userId: string): Promise<number> {
    const rows: { count: string }[] = await this.db.query(
      `SELECT count(*) AS count FROM refresh_sessions
        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [userId],
    );
    return Number(rows[0].count);
  }

  /**
   * Creates a session and, in the same statement, revokes the user's oldest live sessions (by sign-in
   * time) so that at most `maxLive` remain, the new one included. Returns the new session and the
   * ids ended. (The statement's snapshot does not see the row it inserts, hence `maxLive - 1`.)
   */
  async createWithinLimit(
    userId: string,
    tokenHash: Buffer,
    ttlSeconds: number,
    meta: SessionMeta,
    maxLive: number,
  ): Promise<{ session: LiveSession; ended: string[] }> {
    const rows: { kind: 'created' | 'ended'; id: string; expires_at: Date | null }[] = await this.db.query(
      `WITH created AS (
         INSERT INTO refresh_sessions (user_id, token_hash, expires_at, user_agent, ip)
         VALUES ($1, $2, now() + make_interval(secs => $3), $4, $5)
         RETURNING id, expires_at
       ), ended AS (
         UPDATE refresh_sessions SET revoked_at = now(), revoked_reason = 'session_limit', grace_ciphertext = NULL
          WHERE id IN (SELECT id FROM refresh_sessions
                        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
                        ORDER BY created_at DESC, id DESC
                        OFFSET $6)
            AND revoked_at IS NULL
          RETURNING id
       )
       SELECT 'created' AS kind, id, expires_at FROM created
       UNION ALL
       SELECT 'ended' AS kind, id, NULL::timestamptz FROM ended`,
      [
        userId,
        tokenHash,
        ttlSeconds,
        meta.userAgent?.slice(0, 512) ?? null,
        meta.ip?.slice(0, 64) ?? null,
        Math.max(0, maxLive - 1),
      ],
    );
    const created = rows.find((r) => r.kind === 'created')!;
    return {
      session: { id: created.id, userId, expiresAt: created.expires_at! },
      ended: rows.filter((r) => r.kind === 'ended').map((r) => r.id),
    };
  }
}
