import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDACTED, redactText, redactValue } from '../../src/modules/observability/logging/redact';

describe('redactValue', () => {
  it('replaces secret fields at any depth and keeps the rest', () => {
    const out = redactValue({
      email: 'a@example.com',
      password: 'p',
      nested: { deeper: { refreshToken: 'r', refresh_token: 'r2', currentPassword: 'c', keep: 1 } },
      headers: { authorization: 'Bearer x', cookie: 'sid=1', 'x-api-key': 'k', accept: 'json' },
      list: [{ token: 't' }],
    });
    assert.deepEqual(out, {
      email: 'a@example.com',
      password: REDACTED,
      nested: { deeper: { refreshToken: REDACTED, refresh_token: REDACTED, currentPassword: REDACTED, keep: 1 } },
      headers: { authorization: REDACTED, cookie: REDACTED, 'x-api-key': REDACTED, accept: 'json' },
      list: [{ token: REDACTED }],
    });
  });

  it('turns errors and their causes into plain objects with scrubbed text and fields', () => {
    const cause = Object.assign(new Error('query failed for postgres://latch:s3cret-pw@db:5432/latch'), {
      parameters: ['hash-of-something'],
    });
    const error = new Error('login with {"password":"hunter2-secret"} failed', { cause });
    const out = redactValue({ err: error }) as { err: Record<string, any> };
    assert.equal(out.err.type, 'Error');
    assert.equal(out.err.message, `login with {"password":"${REDACTED}"} failed`);
    assert.ok(!String(out.err.stack).includes('hunter2-secret'));
    assert.equal(out.err.cause.parameters, REDACTED);
    assert.ok(!JSON.stringify(out).includes('s3cret-pw'));
  });

  it('scrubs an API key interpolated into text, but not a metric name', () => {
    const key = 'latch_' + 'Ab3_-'.repeat(8) + 'xyz';
    assert.equal(redactText(`unknown key ${key} presented`), `unknown key ${REDACTED} presented`);
    assert.equal(redactText('latch_api_key_requests_total'), 'latch_api_key_requests_total');
  });

  it('survives cycles', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    assert.deepEqual(redactValue(a), { name: 'a', self: '[Circular]' });
  });
});

describe('redactText', () => {
  it('scrubs bearer tokens, JWTs, secret query parameters and URL credentials', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXZhbHVl';
    assert.equal(redactText(`Authorization: Bearer abc.def-ghi`), `Authorization: Bearer ${REDACTED}`);
    assert.equal(redactText(`token ${jwt} rejected`), `token ${REDACTED} rejected`);
    assert.equal(redactText('/reset-password?token=abc123&next=/home'), `/reset-password?token=${REDACTED}&next=/home`);
    assert.equal(
      redactText('grant_type=password&username=a&password=pw1&refresh_token=rt'),
      `grant_type=password&username=a&password=${REDACTED}&refresh_token=${REDACTED}`,
    );
    assert.equal(
      redactText(JSON.stringify({ stack: 'Error: bad password=pw2\n    at x' })),
      JSON.stringify({ stack: `Error: bad password=${REDACTED}\n    at x` }),
      'an escaped newline ends the value',
    );
    assert.equal(
      redactText('smtp://mailer:pa55@smtp.example.com:587'),
      `smtp://mailer:${REDACTED}@smtp.example.com:587`,
    );
  });
});
