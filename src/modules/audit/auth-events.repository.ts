// The audit trail is append-only: one INSERT per event, never updated.
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type QueryDeepPartialEntity, Repository } from 'typeorm';
import { AuthEventEntity } from './auth-event.entity';

export type NewAuthEvent = Omit<AuthEventEntity, 'id'>;

@Injectable()
export class AuthEventsRepository {
  constructor(@InjectRepository(AuthEventEntity) private readonly events: Repository<AuthEventEntity>) {}

  async append(event: NewAuthEvent): Promise<void> {
    await this.events
      .createQueryBuilder()
      .insert()
      .values(event as QueryDeepPartialEntity<AuthEventEntity>)
      .updateEntity(false)
      .execute();
  }
}
