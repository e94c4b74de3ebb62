// Refresh sessions (src/database/sql.ts: raw SQL where one statement matters, rows typed by the entity).
// Rotation is one statement (UPDATE ... RETURNING inside a CTE that also records the replaced
// hash, keeps the new pair for the grace window and writes the audit row), so two requests racing
// with the same token can never both rotate it, and a refresh costs one round trip.
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ReadReplicas } from '../../database/read-replicas';
import { CteRow, CteStatement, insertRowsFor, pooled, Queryable, row, rows } from '../../database/sql';
import type { RefreshSessionEntity } from './refresh-session.entity';

type Session = RefreshSessionEntity;

export interface SessionMeta {
  userAgent?: string | null;
  ip?: string | null;
}

export type LiveSession = Pick<Session, 'id' | 'userId' | 'expiresAt'>;

export type RotatedSession = LiveSession & { rotatedAt: Date };

export type ReplacedTokenState = RotatedSession & Pick<Session, 'revokedAt' | 'graceCiphertext'> & { now: Date };

/** What a refresh's one statement does besides the rotation (see rotate()). */
export interface RotationExtras {
  /** The session and user the presented token names: nothing else is rotated. */
  claimant?: { sessionId: string; userId: string };
  /** The new pair, sealed for the grace window under the replaced token. */
  graceCiphertext?: Buffer | null;
  /** Another module's insert, written once if the rotation happened. */
  alongside?: CteStatement;
}

/** One refresh's rotation in a group (rotateGroup): the session and user its token named, and its audit row. */
export interface GroupedRotation {
  oldHash: Buffer;
  newHash: Buffer;
  claimant: { sessionId: string; userId: string };
  graceCiphertext: Buffer | null;
  /** Another module's single-row insert (the audit row), written with the rotation. */
  alongside: CteStatement & { row: CteRow };
}

export type SessionRow = Pick<Session, 'id' | 'createdAt' | 'lastUsedAt' | 'expiresAt' | 'userAgent' | 'ip'>;

@Injectable()
export class RefreshSessionsRepository {
  /** For a refresh's statement (rotate, and storeGraceCiphertext when its pair changed): see pooled(). */
  private readonly hot: Queryable;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly replicas: ReadReplicas,
  ) {
    this.hot = pooled(db);
  }

  /**
   * Replaces the current token of a live session; null when the token is not current, or when the
   * session went `idleSeconds` (> 0) without a refresh. `expires_at` comes back as the nearer of the
   * absolute limit and the new idle limit. With `extras`, the same statement also keeps the new pair
   * sealed for the grace window and writes `alongside` (the refresh's audit row), both only if the
   * rotation happened, and rotates only the session (and user) the token named.
   */
  rotate(
    oldHash: Buffer,
    newHash: Buffer,
    idleSeconds = 0,
    extras: RotationExtras = {},
  ): Promise<RotatedSession | null> {
    const params = [
      oldHash,
      newHash,
      idleSeconds,
      extras.claimant?.sessionId ?? null,
      extras.claimant?.userId ?? null,
      extras.graceCiphertext ?? null,
    ];
    const alongside = extras.alongside ? `, alongside AS (${extras.alongside.sql(params.length + 1, 'rotated')})` : '';
    return row<Session, 'id' | 'userId' | 'expiresAt' | 'rotatedAt'>(
      this.hot,
      `WITH rotated AS (
         UPDATE refresh_sessions
            SET previous_token_hash = token_hash, token_hash = $2, rotated_at = now(),
                last_used_at = now(), grace_ciphertext = $6
          WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
            AND ($3::int = 0 OR coalesce(rotated_at, created_at) > now() - make_interval(secs => $3::int))
            AND ($4::uuid IS NULL OR id = $4::uuid) AND ($5::uuid IS NULL OR user_id = $5::uuid)
          RETURNING id, user_id, rotated_at,
                    CASE WHEN $3::int > 0 THEN least(expires_at, now() + make_interval(secs => $3::int))
                         ELSE expires_at END AS expires_at
       ), remembered AS (
         INSERT INTO refresh_token_history (token_hash, session_id)
         SELECT $1, id FROM rotated
       )${alongside}
       SELECT id, user_id, expires_at, rotated_at FROM rotated`,
      [...params, ...(extras.alongside?.params ?? [])],
    ) as Promise<RotatedSession | null>;
  }

  /**
   * rotate() with `extras` for many refreshes in one statement: each item rotates as it would alone
   * (its token current, its session live and not idle, and the session and user it named), with its
   * history row, sealed pair and `alongside` row (all of one table and shape) written only if it
   * rotated. The items' sessions are distinct (StatementGroups keys on them). Answers in the items'
   * order, null where an item did not rotate.
   */
  async rotateGroup(items: readonly GroupedRotation[], idleSeconds = 0): Promise<(RotatedSession | null)[]> {
    const params: unknown[] = [
      items.map((item) => item.oldHash),
      items.map((item) => item.newHash),
      items.map((item) => item.claimant.sessionId),
      items.map((item) => item.claimant.userId),
      items.map((item) => item.graceCiphertext),
      idleSeconds,
    ];
    const alongside = insertRowsFor(
      items.map((item) => item.alongside.row),
      params.length + 1,
      'rotated',
    );
    const rotated = await rows<Session & { n: string }, 'n' | 'id' | 'userId' | 'expiresAt' | 'rotatedAt'>(
      this.hot,
      `WITH input AS (
         SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::uuid[], $4::uuid[], $5::bytea[])
                WITH ORDINALITY AS i(old_hash, new_hash, session_id, user_id, grace, n)
       ), rotated AS (
         UPDATE refresh_sessions s
            SET previous_token_hash = s.token_hash, token_hash = i.new_hash, rotated_at = now(),
                last_used_at = now(), grace_ciphertext = i.grace
           FROM input i
          WHERE s.token_hash = i.old_hash AND s.id = i.session_id AND s.user_id = i.user_id
            AND s.revoked_at IS NULL AND s.expires_at > now()
            AND ($6::int = 0 OR coalesce(s.rotated_at, s.created_at) > now() - make_interval(secs => $6::int))
          RETURNING i.n, i.old_hash, s.id, s.user_id, s.rotated_at,
                    CASE WHEN $6::int > 0 THEN least(s.expires_at, now() + make_interval(secs => $6::int))
                         ELSE s.expires_at END AS expires_at
       ), remembered AS (
         INSERT INTO refresh_token_history (token_hash, session_id)
         SELECT old_hash, id FROM rotated
       ), alongside AS (${alongside.sql})
       SELECT n, id, user_id, expires_at, rotated_at FROM rotated`,
      [...params, ...alongside.params],
    );
    const answers: (RotatedSession | null)[] = items.map(() => null);
    for (const { n, ...session } of rotated) answers[Number(n) - 1] = session as RotatedSession;
    return answers;
  }

  /** Keeps the sealed pair on the session while `currentHash` is still its token. */
  async storeGraceCiphertext(sessionId: string, currentHash: Buffer, ciphertext: Buffer): Promise<void> {
    await this.hot.query(`UPDATE refresh_sessions SET grace_ciphertext = $3 WHERE id = $1 AND token_hash = $2`, [
      sessionId,
      currentHash,
      ciphertext,
    ]);
  }

  /** The session whose token was just replaced by this one, if any. */
  findByReplacedToken(hash: Buffer): Promise<ReplacedTokenState | null> {
    return row<Session & { now: Date }, keyof ReplacedTokenState>(
      this.db,
      `SELECT id, user_id, expires_at, rotated_at, revoked_at, grace_ciphertext, now() AS now
         FROM refresh_sessions WHERE previous_token_hash = $1`,
      [hash],
    ) as Promise<ReplacedTokenState | null>;
  }

  /** The session an older (already replaced) token belonged to, for reuse detection. */
  findSessionOfHistoricToken(hash: Buffer): Promise<Pick<Session, 'id' | 'userId'> | null> {
    return row<Session, 'id' | 'userId'>(
      this.db,
      `SELECT s.id, s.user_id FROM refresh_token_history h
         JOIN refresh_sessions s ON s.id = h.session_id
        WHERE h.token_hash = $1`,
      [hash],
    );
  }

  getLive(sessionId: string): Promise<LiveSession | null> {
    return row<Session, 'id' | 'userId' | 'expiresAt'>(
      this.db,
      `SELECT id, user_id, expires_at FROM refresh_sessions
        WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [sessionId],
    );
  }

  /**
   * The live session whose current refresh token this is (introspection and RFC 7009 revocation):
   * like rotate(), none once it went `idleSeconds` (> 0) without a refresh, and `expires_at` as the
   * nearer of the absolute and the idle limit.
   */
  findLiveByToken(
    hash: Buffer,
    idleSeconds = 0,
  ): Promise<Pick<Session, 'id' | 'userId' | 'expiresAt' | 'createdAt' | 'rotatedAt'> | null> {
    return row<Session, 'id' | 'userId' | 'expiresAt' | 'createdAt' | 'rotatedAt'>(
      this.db,
      `SELECT id, user_id, created_at, rotated_at,
              CASE WHEN $2::int > 0
                   THEN least(expires_at, coalesce(rotated_at, created_at) + make_interval(secs => $2::int))
                   ELSE expires_at END AS expires_at
         FROM refresh_sessions
        WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
          AND ($2::int = 0 OR coalesce(rotated_at, created_at) > now() - make_interval(secs => $2::int))`,
      [hash, idleSeconds],
    );
  }

  /** The session list (GET /auth/sessions): lag-tolerant, so from a read replica when there is one. */
  listLive(userId: string): Promise<SessionRow[]> {
    return this.replicas.read((db) =>
      rows<Session, keyof SessionRow>(
        db,
        `SELECT id, created_at, last_used_at, expires_at, user_agent, ip FROM refresh_sessions
          WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
          ORDER BY last_used_at DESC`,
        [userId],
      ),
    );
  }

  /** Revokes one session, optionally only if it belongs to the user; returns whether a live one was ended. */
  revoke(sessionId: string, reason: string, ownerId?: string): Promise<LiveSession | null> {
    return row<Session, 'id' | 'userId' | 'expiresAt'>(
      this.db,
      `WITH revoked AS (
         UPDATE refresh_sessions SET revoked_at = now(), revoked_reason = $2, grace_ciphertext = NULL
          WHERE id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR user_id = $3::uuid)
          RETURNING id, user_id, expires_at
       )
       SELECT id, user_id, expires_at FROM revoked`,
      [sessionId, reason, ownerId ?? null],
    );
  }

  /** Revokes every live session of a user except one; returns the ids ended. */
  async revokeAllForUser(userId: string, reason: string, exceptSessionId?: string): Promise<string[]> {
    const revoked = await rows<Session, 'id'>(
      this.db,
      `WITH revoked AS (
         UPDATE refresh_sessions SET revoked_at = now(), revoked_reason = $2, grace_ciphertext = NULL
          WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid)
          RETURNING id
       )
       SELECT id FROM revoked`,
      [userId, reason, exceptSessionId ?? null],
    );
    return revoked.map((r) => r.id);
  }

  async countLive(userId: string): Promise<number> {
    const [counted] = (await this.db.query(
      `SELECT count(*)::int AS count FROM refresh_sessions
        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [userId],
    )) as { count: number }[];
    return counted.count;
  }

  /**
   * Creates a session (with the id given, else one of the database's) and, in the same statement,
   * revokes the user's oldest live sessions (by sign-in time) so that at most `maxLive` remain, the
   * new one included, and runs `alongside` (another module's insert that must commit with the
   * session, such as its audit record). Returns the new session and the ids ended. (The
   * statement's snapshot does not see the row it inserts, hence `maxLive - 1`.)
   */
  async createWithinLimit(
    userId: string,
    tokenHash: Buffer,
    ttlSeconds: number,
    meta: SessionMeta,
    maxLive: number,
    options: { id?: string; alongside?: CteStatement } = {},
  ): Promise<{ session: LiveSession; ended: string[] }> {
    const params = [
      userId,
      tokenHash,
      ttlSeconds,
      meta.userAgent?.slice(0, 512) ?? null,
      meta.ip?.slice(0, 64) ?? null,
      Math.max(0, maxLive - 1),
      options.id ?? null,
    ];
    const alongside = options.alongside ? `, alongside AS (${options.alongside.sql(params.length + 1)})` : '';
    const rows: { kind: 'created' | 'ended'; id: string; expires_at: Date | null }[] = await this.db.query(
      `WITH created AS (
         INSERT INTO refresh_sessions (id, user_id, token_hash, expires_at, user_agent, ip)
         VALUES (coalesce($7::uuid, gen_random_uuid()), $1, $2, now() + make_interval(secs => $3), $4, $5)
         RETURNING id, expires_at
       ), ended AS (
         UPDATE refresh_sessions SET revoked_at = now(), revoked_reason = 'session_limit', grace_ciphertext = NULL
          WHERE id IN (SELECT id FROM refresh_sessions
                        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
                        ORDER BY created_at DESC, id DESC
                        OFFSET $6)
            AND revoked_at IS NULL
          RETURNING id
       )${alongside}
       SELECT 'created' AS kind, id, expires_at FROM created
       UNION ALL
       SELECT 'ended' AS kind, id, NULL::timestamptz FROM ended`,
      [...params, ...(options.alongside?.params ?? [])],
    );
    const created = rows.find((r) => r.kind === 'created')!;
    return {
      session: { id: created.id, userId, expiresAt: created.expires_at! },
      ended: rows.filter((r) => r.kind === 'ended').map((r) => r.id),
    };
  }
}
