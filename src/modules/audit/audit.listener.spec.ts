import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LoginFailedEvent,
  PasswordCheckFailedEvent,
  RefreshReuseDetectedEvent,
  SessionRevokedEvent,
  TokenRefreshedEvent,
  UserDisabledEvent,
  UserUpdatedEvent,
} from '../../common/events/domain-events';
import { toAuditRecord } from './audit.listener';

const client = { ip: '203.0.113.7', userAgent: 'spec/1.0' };

describe('audit records', () => {
  it('records a failed login for an unknown address with no user, as a failure with its reason', () => {
    const event = new LoginFailedEvent(null, 'invalid_credentials', client);
    assert.deepEqual(toAuditRecord(event), {
      type: 'auth.login.failed',
      outcome: 'failure',
      reason: 'invalid_credentials',
      userId: null,
      sessionId: null,
      actorId: null,
      ip: '203.0.113.7',
      userAgent: 'spec/1.0',
      occurredAt: event.at,
      details: null,
    });
  });

  it('keeps the keyed hash of the name tried by a failed login that named no account', () => {
    const record = toAuditRecord(new LoginFailedEvent(null, 'invalid_credentials', client, 'aGFzaA'));
    assert.deepEqual(record.details, { identifierHash: 'aGFzaA' });
  });

  it('records a wrong current password at password change as a failed password check', () => {
    const record = toAuditRecord(new PasswordCheckFailedEvent('u1', 'invalid_credentials', client));
    assert.equal(record.type, 'auth.password.check_failed');
    assert.equal(record.outcome, 'failure');
    assert.equal(record.reason, 'invalid_credentials');
    assert.equal(record.userId, 'u1');
  });

  it('marks refresh-token reuse as a failure of the session concerned', () => {
    const record = toAuditRecord(new RefreshReuseDetectedEvent('u1', 's1', client));
    assert.equal(record.outcome, 'failure');
    assert.equal(record.reason, 'refresh_token_reuse');
    assert.equal(record.sessionId, 's1');
  });

  it('names the one ended session, or lists several in details', () => {
    const one = toAuditRecord(new SessionRevokedEvent('u1', ['s1'], 'logout', true, client));
    assert.equal(one.sessionId, 's1');
    assert.deepEqual(one.details, { lastSessionEnded: true });
    const many = toAuditRecord(new SessionRevokedEvent('u1', ['s1', 's2'], 'logout_all', true, client));
    assert.equal(many.sessionId, null);
    assert.equal(many.reason, 'logout_all');
    assert.deepEqual(many.details, { sessionIds: ['s1', 's2'], lastSessionEnded: true });
  });

  it('keeps the acting admin, and records events that carry no client', () => {
    assert.equal(toAuditRecord(new UserDisabledEvent('u1', 'admin-1', client)).actorId, 'admin-1');
    const updated = toAuditRecord(new UserUpdatedEvent('u1'));
    assert.equal(updated.outcome, 'success');
    assert.equal(updated.ip, null);
  });

  it('cuts the client address and user agent to their columns, so an odd value cannot fail the insert', () => {
    const record = toAuditRecord(
      new TokenRefreshedEvent('u1', 's1', { ip: 'x'.repeat(300), userAgent: 'a'.repeat(900) }),
    );
    assert.equal(record.ip, 'x'.repeat(64));
    assert.equal(record.userAgent, 'a'.repeat(512));
  });
});
