import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VERIFY_RESPONSE_SCHEMA } from '../../auth/dto/token-pair.response';
import type { UserEntity } from '../user.entity';
import { toUserResponse, USER_RESPONSE_SCHEMA } from './user.response';

describe('response schemas of the hot routes', () => {
  it('name every field toUserResponse() gives, all required (the serialiser drops what it does not name)', () => {
    const user = {
      id: '00000000-0000-4000-8000-000000000000',
      email: 'ada@example.com',
      username: null,
      displayName: null,
      roles: ['user'],
      status: 'active',
      emailVerified: true,
      mfaEnabled: false,
      createdAt: new Date(),
      lastLoginAt: null,
    } as unknown as UserEntity;
    const fields = Object.keys(toUserResponse(user)).sort();
    assert.deepEqual(Object.keys(USER_RESPONSE_SCHEMA.properties).sort(), fields);
    assert.deepEqual([...USER_RESPONSE_SCHEMA.required].sort(), fields);
  });

  it('require every field of the verify answer', () => {
    assert.deepEqual(
      [...VERIFY_RESPONSE_SCHEMA.required].sort(),
      Object.keys(VERIFY_RESPONSE_SCHEMA.properties).sort(),
    );
  });
});
