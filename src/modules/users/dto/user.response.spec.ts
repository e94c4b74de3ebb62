import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiKeyVerifyResponse, VERIFY_RESPONSE_SCHEMA, VerifyResponse } from '../../auth/dto/token-pair.response';
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

  it('name every field of both verify answers, and require the fields they share', () => {
    const bearer: Required<VerifyResponse> = {
      valid: true,
      userId: 'u',
      sessionId: 's',
      roles: [],
      expiresAt: '2026-01-01T00:00:00.000Z',
    };
    const apiKey: Required<ApiKeyVerifyResponse> = {
      valid: true,
      userId: 'u',
      apiKeyId: 'k',
      roles: [],
      scopes: [],
      expiresAt: null,
    };
    const named = new Set([...Object.keys(bearer), ...Object.keys(apiKey)]);
    const shared = Object.keys(bearer).filter((field) => field in apiKey);
    assert.deepEqual(Object.keys(VERIFY_RESPONSE_SCHEMA.properties).sort(), [...named].sort());
    assert.deepEqual([...VERIFY_RESPONSE_SCHEMA.required].sort(), shared.sort());
  });
});
