import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Repository } from 'typeorm';
import type { ReadReplicas } from '../../database/read-replicas';
import type { UserEntity } from './user.entity';
import { UsersRepository } from './users.repository';

/** A repository over a fake database whose lower() is `lower`, recording the SQL it is sent. */
function repositoryWith(lower: (s: string) => string): { users: UsersRepository; sent: string[] } {
  const sent: string[] = [];
  const query = (sql: string, params: unknown[]): Promise<unknown> => {
    sent.push(sql);
    if (sql.includes('AS agrees')) return Promise.resolve([{ agrees: lower(params[0] as string) === params[1] }]);
    return Promise.resolve((params[0] as string[]).map((name) => ({ name: lower(name) })));
  };
  const users = new UsersRepository({ query } as unknown as Repository<UserEntity>, {} as ReadReplicas);
  return { users, sent };
}

const turkish = (s: string): string => s.replace(/I/g, 'ı').toLowerCase();

describe('login names as the user lookup compares them', () => {
  it('lowers ASCII names without a round trip once the database has shown it lowers ASCII alike', async () => {
    const { users, sent } = repositoryWith((s) => s.toLowerCase());
    assert.deepEqual(await users.loginNames(['Ines@Example.COM']), ['ines@example.com']);
    assert.deepEqual(await users.loginNames(['BOB@example.com', 'bob']), ['bob@example.com', 'bob']);
    assert.equal(sent.length, 1, 'only the one question about lower()');
  });

  it('asks the database for any name that is not printable ASCII', async () => {
    const { users, sent } = repositoryWith((s) => s.replace('İ', 'i').toLowerCase());
    assert.deepEqual(await users.loginNames(['İnes@example.com']), ['ines@example.com']);
    assert.equal(sent.filter((sql) => sql.includes('unnest')).length, 1);
  });

  it('asks the database for every name when its lower() differs on ASCII (a Turkish locale)', async () => {
    const { users, sent } = repositoryWith(turkish);
    assert.deepEqual(await users.loginNames(['IRIS@example.com']), ['ırıs@example.com']);
    assert.deepEqual(await users.loginNames(['IRIS@example.com']), ['ırıs@example.com']);
    assert.equal(sent.filter((sql) => sql.includes('unnest')).length, 2);
  });
});
