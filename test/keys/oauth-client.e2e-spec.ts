// Latch as a standard OAuth 2 client library sees it: openid-client (v6, OAuth 2 mode) discovers the
// endpoints from the RFC 8414 metadata, signs in with the password grant, refreshes, revokes the
// refresh token through RFC 7009, and then cannot refresh any more. Real HTTP against a listening app
// whose APP_URL and JWT_ISSUER are its own address, as in production.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'openid-client';
import { registerUser, TestUser } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';

/** A free loopback port, so that APP_URL can name the app before it starts. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('an OAuth 2 client library (openid-client)', () => {
  let t: TestApp;
  let issuer: URL;
  let client: oauth.Configuration;
  let user: TestUser;

  before(async () => {
    const port = await freePort();
    issuer = new URL(`http://127.0.0.1:${port}`);
    t = await createTestApp({ port, env: { APP_URL: issuer.origin, JWT_ISSUER: issuer.origin } });
    user = await registerUser(t.api);
    // RFC 8414 discovery: /.well-known/oauth-authorization-server, the issuer checked against the URL.
    // Plain HTTP on loopback only because this is a test; Latch is a public client (auth method none).
    client = await oauth.discovery(issuer, 'latch-test-client', undefined, oauth.None(), {
      algorithm: 'oauth2',
      execute: [oauth.allowInsecureRequests],
    });
  });
  after(() => t.close());

  const passwordGrant = () =>
    oauth.genericGrantRequest(client, 'password', { username: user.email, password: user.password });

  it('discovers the token, revocation and JWKS endpoints from the metadata', () => {
    const metadata = client.serverMetadata();
    assert.equal(metadata.issuer, issuer.origin);
    assert.equal(metadata.token_endpoint, `${issuer.origin}/api/v1/auth/token`);
    assert.equal(metadata.revocation_endpoint, `${issuer.origin}/api/v1/auth/revoke`);
    assert.equal(metadata.jwks_uri, `${issuer.origin}/.well-known/jwks.json`);
  });

  it('signs in with the password grant and refreshes with the refresh_token grant', async () => {
    const first = await passwordGrant();
    assert.equal(first.token_type, 'bearer');
    assert.ok(first.refresh_token);
    assert.ok((first.expiresIn() ?? 0) > 0);
    const me = await t.api.get('/users/me', { token: first.access_token });
    assert.equal(me.status, 200);
    assert.equal(me.body.id, user.id);

    const second = await oauth.refreshTokenGrant(client, first.refresh_token);
    assert.ok(second.refresh_token && second.refresh_token !== first.refresh_token, 'the refresh token rotates');
    assert.equal((await t.api.get('/users/me', { token: second.access_token })).status, 200);
  });

  it('revokes through RFC 7009: the refresh token and its access tokens stop working', async () => {
    const pair = await passwordGrant();
    await oauth.tokenRevocation(client, pair.refresh_token!, { token_type_hint: 'refresh_token' });
    await assert.rejects(oauth.refreshTokenGrant(client, pair.refresh_token!), (error: unknown) => {
      assert.ok(error instanceof oauth.ResponseBodyError, `not an OAuth error response: ${String(error)}`);
      assert.equal(error.error, 'invalid_grant');
      return true;
    });
    assert.equal((await t.api.get('/users/me', { token: pair.access_token })).status, 401);
  });

  it('gets the RFC 6749 error for a wrong password', async () => {
    await assert.rejects(
      oauth.genericGrantRequest(client, 'password', { username: user.email, password: 'not the password at all' }),
      (error: unknown) => error instanceof oauth.ResponseBodyError && error.error === 'invalid_grant',
    );
  });
});
