// The audit trail is append-only: rows are inserted (one, or a batch in one statement), never updated.
// Plain inserts, so TypeORM's Repository API (src/database/sql.ts, rule 2).
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type QueryDeepPartialEntity, Repository } from 'typeorm';
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
}
