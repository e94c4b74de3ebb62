// The audit trail is append-only: rows are inserted (one, or a batch in one statement), never updated.
// Plain inserts, so TypeORM's Repository API (src/database/sql.ts, rule 2); and one insert that
// another module's statement carries (insertStatement), built from the same entity, so its row is
// the same as append()'s.
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type QueryDeepPartialEntity, Repository } from 'typeorm';
import type { CteStatement } from '../../database/sql';
import { AuthEventEntity } from './auth-event.entity';

export type NewAuthEvent = Omit<AuthEventEntity, 'id'>;

@Injectable()
export class AuthEventsRepository {
  /** The columns a record fills (the identity column is the database's), as [column, property, type]. */
  private readonly columns: readonly [string, keyof NewAuthEvent, string][];
  private readonly rowColumns: readonly (readonly [string, string])[];

  constructor(@InjectRepository(AuthEventEntity) private readonly events: Repository<AuthEventEntity>) {
    this.columns = events.metadata.columns
      .filter((column) => !column.isGenerated)
      .map((column) => [column.databaseName, column.propertyName as keyof NewAuthEvent, String(column.type)]);
    this.rowColumns = this.columns.map(([column, , type]) => [column, type] as const);
  }

  async append(...events: NewAuthEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.events
      .createQueryBuilder()
      .insert()
      .values(events as QueryDeepPartialEntity<AuthEventEntity>[])
      .updateEntity(false)
      .execute();
  }

  /** The INSERT of one record, for a CTE of another module's statement (see CteStatement). */
  insertStatement(event: NewAuthEvent): CteStatement {
    const params = this.columns.map(([, property, type]) => {
      const value = event[property];
      return type === 'jsonb' && value !== null ? JSON.stringify(value) : value;
    });
    const names = this.columns.map(([column]) => column).join(', ');
    return {
      sql: (first, forEachRowOf) => {
        if (!forEachRowOf) {
          return `INSERT INTO auth_events (${names}) VALUES (${this.columns.map((_, i) => `$${first + i}`).join(', ')})`;
        }
        // In a SELECT list a parameter takes no type from its column: each is cast to it.
        const values = this.columns.map(([, , type], i) => `$${first + i}::${type}`).join(', ');
        return `INSERT INTO auth_events (${names}) SELECT ${values} FROM ${forEachRowOf}`;
      },
      params,
      row: { table: 'auth_events', columns: this.rowColumns, values: params },
    };
  }
}
