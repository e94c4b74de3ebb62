// The audit trail is append-only: rows are inserted (one, or a batch in one statement), never updated.
// Plain inserts, so TypeORM's Repository API (src/database/sql.ts, rule 2); a row that another
// module's statement carries (insertStatement) is the same row in raw SQL.
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type QueryDeepPartialEntity, Repository } from 'typeorm';
import type { CteStatement } from '../../database/sql';
import { AuthEventEntity } from './auth-event.entity';

export type NewAuthEvent = Omit<AuthEventEntity, 'id'>;

@Injectable()
export class AuthEventsRepository {
  constructor(@InjectRepository(AuthEventEntity) private readonly events: Repository<AuthEventEntity>) {}

  async append(...events: NewAuthEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.events
      .createQueryBuilder()
      .insert()
      .values(events as QueryDeepPartialEntity<AuthEventEntity>[])
      .updateEntity(false)
      .execute();
  }

  /** The INSERT of one row, for another statement to run as a CTE (the columns and values append() writes). */
  insertStatement(event: NewAuthEvent): CteStatement {
    return {
      sql: (first) => {
        const p = (i: number) => `$${first + i}`;
        return `INSERT INTO auth_events (type, outcome, reason, user_id, session_id, actor_id, ip, user_agent,
                                         occurred_at, details)
                VALUES (${p(0)}, ${p(1)}, ${p(2)}, ${p(3)}::uuid, ${p(4)}::uuid, ${p(5)}::uuid, ${p(6)}, ${p(7)},
                        ${p(8)}::timestamptz, ${p(9)}::jsonb)`;
      },
      params: [
        event.type,
        event.outcome,
        event.reason,
        event.userId,
        event.sessionId,
        event.actorId,
        event.ip,
        event.userAgent,
        event.occurredAt,
        event.details === null ? null : JSON.stringify(event.details),
      ],
    };
  }
}
