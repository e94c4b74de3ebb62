import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Module } from '@nestjs/common';
import { DomainEvent, LoginFailedEvent, LoginSucceededEvent } from '../../src/common/events/domain-events';
import { DomainEvents } from '../../src/common/events/domain-events.service';
import { AfterResponse, BeforeResponse } from '../../src/common/events/listener.decorators';
import { UsersService } from '../../src/modules/users/users.service';
import { login, registerUser } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';
import { eventually } from '../utils/eventually';
import { LogCapture } from '../observability/log-capture';

interface AuditRow {
  type: string;
  outcome: string;
  reason: string | null;
  user_id: string | null;
  session_id: string | null;
  ip: string | null;
  user_agent: string | null;
  occurred_at: Date;
}

type OnLogin = ((event: LoginSucceededEvent) => unknown) | undefined;
type OnLoginFailed = ((event: LoginFailedEvent) => unknown) | undefined;

/**
 * Listeners the tests give work to for their own duration (and take it back in `finally`); without
 * work they do nothing, so no test leaves a handler behind on the shared app.
 */
@Injectable()
class ProbeListeners {
  afterLogin: [OnLogin, OnLogin] = [undefined, undefined];
  beforeLoginFailed: OnLoginFailed;

  @AfterResponse(LoginSucceededEvent)
  firstAfterLogin(event: LoginSucceededEvent): unknown {
    return this.afterLogin[0]?.(event);
  }

  @AfterResponse(LoginSucceededEvent)
  secondAfterLogin(event: LoginSucceededEvent): unknown {
    return this.afterLogin[1]?.(event);
  }

  @BeforeResponse(LoginFailedEvent)
  durableOnLoginFailed(event: LoginFailedEvent): unknown {
    return this.beforeLoginFailed?.(event);
  }
}

@Module({ providers: [ProbeListeners] })
class ProbeModule {}

describe('after-response work', () => {
  let t: TestApp;
  let probe: ProbeListeners;
  const logs = new LogCapture();
  before(async () => {
    t = await createTestApp({ env: { LOG_LEVEL: 'error' }, logDestination: logs, imports: [ProbeModule] });
    probe = t.app.get(ProbeListeners);
  });
  after(() => t.close());

  it('answers login without waiting for a listener that takes 2 s, and tracks that listener', async () => {
    const user = await registerUser(t.api);
    let finished = false;
    const slow = async () => {
      await sleep(2000);
      finished = true;
    };
    probe.afterLogin[0] = slow;
    try {
      const started = Date.now();
      const res = await t.api.post('/auth/login', { email: user.email, password: user.password });
      const elapsed = Date.now() - started;
      assert.equal(res.status, 200);
      assert.equal(finished, false, 'the response came before the slow listener finished');
      assert.ok(elapsed < 1500, `login took ${elapsed} ms`);
      assert.ok(t.app.get(DomainEvents).inFlight > 0, 'the slow listener is tracked');
      await eventually(() => finished, { what: 'the slow listener to finish' });
    } finally {
      probe.afterLogin[0] = undefined;
    }
  });

  it('keeps login working when a listener throws or rejects, logs each failure with its context, and runs the other listeners', async () => {
    const user = await registerUser(t.api);
    const throwing = () => {
      throw new Error('listener failure (expected by the test)');
    };
    const rejecting = async () => {
      throw new Error('async listener failure (expected by the test)');
    };
    probe.afterLogin = [throwing, rejecting];
    try {
      const res = await t.api.post('/auth/login', { email: user.email, password: user.password });
      assert.equal(res.status, 200);
      // Each failure is logged with the event and the ids it concerns.
      await eventually(
        () =>
          logs.lines.filter(
            (l) => l.level === 'error' && /auth\.login\.succeeded/.test(l.msg ?? '') && (l.msg ?? '').includes(user.id),
          ).length === 2,
        { what: 'both listener failures to be logged with the event and the user id' },
      );
      // The last-login listener runs after the failing ones and is not affected by them.
      await eventually(
        async () => (await t.api.get('/users/me', { token: res.body.accessToken })).body.lastLoginAt !== null,
        { what: 'the last-login stamp' },
      );
    } finally {
      probe.afterLogin = [undefined, undefined];
    }
  });

  it('has the audit row of a successful login committed when the response arrives, with the client address', async () => {
    const user = await registerUser(t.api);
    const res = await t.api.post(
      '/auth/login',
      { email: user.email, password: user.password },
      { headers: { 'user-agent': 'latch-audit-test/1.0' } },
    );
    assert.equal(res.status, 200);
    // No polling: the audit record is durable, written before the response was sent.
    const rows = await query<AuditRow>(t.databaseUrl, `SELECT * FROM auth_events WHERE user_id = $1 AND type = $2`, [
      user.id,
      DomainEvent.LoginSucceeded,
    ]);
    assert.equal(rows.length, 1);
    const [row] = rows;
    assert.equal(row.outcome, 'success');
    assert.equal(row.ip, '127.0.0.1');
    assert.equal(row.user_agent, 'latch-audit-test/1.0');
    assert.match(row.session_id ?? '', /^[0-9a-f-]{36}$/);
    const sessions = await t.api.get('/auth/sessions', { token: res.body.accessToken });
    assert.equal(row.session_id, sessions.body[0].id);
    assert.ok(Math.abs(row.occurred_at.getTime() - Date.now()) < 60_000);
  });

  it('records failed logins, for a wrong password and for an unknown address, before answering', async () => {
    const user = await registerUser(t.api);
    const wrong = await t.api.post('/auth/login', { email: user.email, password: 'not the right password' });
    assert.equal(wrong.status, 401);
    const [known] = await query<AuditRow>(t.databaseUrl, `SELECT * FROM auth_events WHERE user_id = $1 AND type = $2`, [
      user.id,
      DomainEvent.LoginFailed,
    ]);
    assert.equal(known.outcome, 'failure');
    assert.equal(known.reason, 'invalid_credentials');
    assert.equal(known.ip, '127.0.0.1');

    const agent = `latch-audit-unknown-${Date.now()}`;
    const unknown = await t.api.post(
      '/auth/login',
      { email: 'nobody-here@example.com', password: 'whatever it is' },
      { headers: { 'user-agent': agent } },
    );
    assert.equal(unknown.status, 401);
    const rows = await query<AuditRow>(t.databaseUrl, `SELECT * FROM auth_events WHERE user_agent = $1`, [agent]);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].type, DomainEvent.LoginFailed);
    assert.equal(rows[0].user_id, null);
    assert.equal(rows[0].ip, '127.0.0.1');
  });

  it('audits the rest of a session: refresh, logout, with the session they concern', async () => {
    const user = await login(t.api, await registerUser(t.api));
    const refreshed = await t.api.post(
      '/auth/refresh',
      { refreshToken: user.refreshToken },
      { headers: { 'user-agent': 'latch-refresh-audit/1.0' } },
    );
    assert.equal(refreshed.status, 200);
    // No polling: the refresh's record is written in the statement that keeps its grace pair.
    const [refreshRecord, ...more] = await query<AuditRow & { actor_id: string | null; details: unknown }>(
      t.databaseUrl,
      `SELECT * FROM auth_events WHERE user_id = $1 AND type = $2`,
      [user.id, DomainEvent.TokenRefreshed],
    );
    assert.equal(more.length, 0, 'one record per refresh');
    assert.deepEqual(
      { ...refreshRecord, occurred_at: undefined, id: undefined },
      {
        id: undefined,
        type: DomainEvent.TokenRefreshed,
        outcome: 'success',
        reason: null,
        user_id: user.id,
        session_id: refreshRecord.session_id,
        actor_id: null,
        ip: '127.0.0.1',
        user_agent: 'latch-refresh-audit/1.0',
        occurred_at: undefined,
        details: null,
      },
    );
    assert.ok(Math.abs(refreshRecord.occurred_at.getTime() - Date.now()) < 60_000);
    const out = await t.api.post('/auth/logout', undefined, { token: refreshed.body.accessToken });
    assert.equal(out.status, 204);
    const rows = await query<AuditRow>(
      t.databaseUrl,
      `SELECT * FROM auth_events WHERE user_id = $1 ORDER BY occurred_at, id`,
      [user.id],
    );
    assert.deepEqual(
      rows.map((r) => r.type),
      [DomainEvent.UserRegistered, DomainEvent.LoginSucceeded, DomainEvent.TokenRefreshed, DomainEvent.SessionRevoked],
    );
    const [, loginRow, refreshRow, logoutRow] = rows;
    assert.equal(refreshRow.session_id, loginRow.session_id);
    assert.equal(logoutRow.session_id, loginRow.session_id);
    assert.equal(logoutRow.reason, 'logout');
  });

  it('sends no response before the durable work its events started has settled', async () => {
    const user = await registerUser(t.api);
    let settled = false;
    // The same path the audit trail takes, made slow, on an event of a failed login.
    probe.beforeLoginFailed = async (e: LoginFailedEvent) => {
      if (e.userId !== user.id) return;
      await sleep(600);
      settled = true;
    };
    try {
      const res = await t.api.post('/auth/login', { email: user.email, password: 'not the right password' });
      assert.equal(res.status, 401);
      assert.equal(settled, true, 'the 401 waited for the durable work');
    } finally {
      probe.beforeLoginFailed = undefined;
    }
  });

  it('logs a before-response listener that throws synchronously, and answers as usual', async () => {
    const user = await registerUser(t.api);
    // A listener that returns no promise has settled when it returns: nothing is held for it.
    probe.beforeLoginFailed = (e: LoginFailedEvent) => {
      if (e.userId === user.id) throw new Error('synchronous listener failure');
    };
    try {
      const res = await t.api.post('/auth/login', { email: user.email, password: 'not the right password' });
      assert.equal(res.status, 401);
      await eventually(
        () =>
          logs.lines.some(
            (l) =>
              l.level === 'error' &&
              (l.msg ?? '').includes('synchronous listener failure') &&
              (l.msg ?? '').includes(user.id),
          ),
        { what: 'the synchronous failure to be logged with the user id' },
      );
    } finally {
      probe.beforeLoginFailed = undefined;
    }
  });

  it("stamps the last login after the response: forward only, the profile's updated_at untouched, shown by /users/me", async () => {
    const user = await registerUser(t.api);
    const stamps = () =>
      query<{ last_login_at: Date | null; updated_at: Date }>(
        t.databaseUrl,
        'SELECT last_login_at, updated_at FROM users WHERE id = $1',
        [user.id],
      );
    const [registered] = await stamps();
    assert.equal(registered.last_login_at, null);
    const before = Date.now();
    const session = await login(t.api, user);
    await eventually(async () => (await stamps())[0].last_login_at !== null, { what: 'the last-login stamp' });
    const [stamped] = await stamps();
    assert.ok(stamped.last_login_at!.getTime() >= before - 1000, "the stamp is the login's time");
    assert.equal(stamped.updated_at.getTime(), registered.updated_at.getTime(), 'a login is not a profile change');
    await eventually(
      async () =>
        (await t.api.get('/users/me', { token: session.accessToken })).body.lastLoginAt ===
        stamped.last_login_at!.toISOString(),
      { what: '/users/me to show the stamp' },
    );

    // A stamp that arrives late (an older login's, after a newer one's) never moves it back.
    await t.app.get(UsersService).stampLastLogin(user.id, new Date(stamped.last_login_at!.getTime() - 60_000));
    assert.equal((await stamps())[0].last_login_at!.getTime(), stamped.last_login_at!.getTime());
    const later = new Date(stamped.last_login_at!.getTime() + 60_000);
    await t.app.get(UsersService).stampLastLogin(user.id, later);
    assert.equal((await stamps())[0].last_login_at!.getTime(), later.getTime());
  });

  it('waits for pending listener work when the application closes', async () => {
    const own = await createTestApp({ imports: [ProbeModule] });
    try {
      const user = await registerUser(own.api);
      let finished = false;
      own.app.get(ProbeListeners).afterLogin[0] = async () => {
        await sleep(1500);
        finished = true;
      };
      assert.equal((await own.api.post('/auth/login', { email: user.email, password: user.password })).status, 200);
      assert.equal(finished, false);
      await own.close();
      assert.equal(finished, true, 'close() returned only after the listener finished');
    } finally {
      await own.close();
    }
  });

  it('batches the refresh record after the response when there is no grace window to carry it', async () => {
    const own = await createTestApp({ env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
    try {
      const user = await login(own.api, await registerUser(own.api));
      const refreshed = await own.api.post('/auth/refresh', { refreshToken: user.refreshToken });
      assert.equal(refreshed.status, 200);
      const read = () =>
        query<AuditRow>(own.databaseUrl, `SELECT * FROM auth_events WHERE user_id = $1 AND type = $2`, [
          user.id,
          DomainEvent.TokenRefreshed,
        ]);
      const [row] = await eventually(async () => ((r) => (r.length > 0 ? r : false))(await read()), {
        what: 'the batched refresh record',
      });
      assert.equal(row.outcome, 'success');
      assert.equal(row.ip, '127.0.0.1');
    } finally {
      await own.close();
    }
  });
});
