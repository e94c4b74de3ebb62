import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, TestApp } from '../utils/create-test-app';

describe('OpenAPI document and Swagger UI', () => {
  let t: TestApp;
  let doc: any;
  before(async () => {
    t = await createTestApp();
    doc = (await t.root.get('/docs-json')).body;
  });
  after(() => t.close());

  it('serves Swagger UI and its assets from the service itself', async () => {
    const page = await t.root.get('/docs');
    assert.equal(page.status, 200);
    assert.match(page.text, /swagger/i);
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map((m) => m[1]);
    assert.ok(assets.length > 0);
    for (const asset of assets) {
      assert.ok(!/^https?:/.test(asset), `external asset ${asset}`);
      const url = new URL(asset, `${t.root.baseUrl}/docs`).pathname;
      assert.equal((await t.root.get(url)).status, 200, url);
    }
  });

  it('declares a Bearer scheme and an OAuth2 password flow on the token endpoint, and no fixed server', () => {
    assert.equal(doc.components.securitySchemes.bearer.scheme, 'bearer');
    assert.equal(doc.components.securitySchemes.oauth2.flows.password.tokenUrl, '/api/v1/auth/token');
    assert.equal(
      doc.servers === undefined || doc.servers.every((s: { url: string }) => !/localhost|127\./.test(s.url)),
      true,
    );
  });

  it('documents every operation with a success response and problem responses', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
      Object.entries(item).map(([method, op]: [string, any]) => ({ path, method, op })),
    );
    assert.ok(operations.length >= 11, `only ${operations.length} operations`);
    for (const { path, method, op } of operations) {
      const codes = Object.keys(op.responses);
      assert.ok(
        codes.some((c) => c.startsWith('2')),
        `${method} ${path} has no success response`,
      );
      assert.ok(
        codes.some((c) => c.startsWith('4')),
        `${method} ${path} has no 4xx response`,
      );
    }
  });

  it('lets protected operations use either scheme, so Authorize works', () => {
    const me = doc.paths['/api/v1/users/me'].get;
    assert.deepEqual(
      new Set(me.security),
      new Set([{ bearer: [] }, { oauth2: [] }, { apiKey: [] }]),
      'GET /users/me also takes an API key',
    );
    assert.deepEqual(doc.paths['/api/v1/auth/sessions'].get.security, [{ bearer: [] }, { oauth2: [] }]);
    assert.ok(doc.paths['/api/v1/auth/login'].post.requestBody);
    assert.equal(doc.paths['/api/v1/auth/login'].post.security, undefined);
  });

  it('offers the API key scheme (X-API-Key) on exactly the routes that take a key', () => {
    assert.deepEqual(doc.components.securitySchemes.apiKey, {
      type: 'apiKey',
      in: 'header',
      name: 'X-API-Key',
      description: 'an API key (latch_…)',
    });
    const withKey = Object.entries(doc.paths as Record<string, Record<string, { security?: object[] }>>)
      .flatMap(([path, operations]) =>
        Object.entries(operations)
          .filter(([, op]) => op.security?.some((s) => 'apiKey' in s))
          .map(([method]) => `${method.toUpperCase()} ${path.replace('/api/v1', '')}`),
      )
      .sort();
    for (const route of ['GET /users/me', 'GET /auth/verify', 'POST /auth/introspect', 'GET /users', 'GET /keys']) {
      assert.ok(withKey.includes(route), `${route} takes a key`);
    }
    for (const route of [
      'POST /api-keys',
      'GET /api-keys',
      'PATCH /users/me',
      'POST /auth/logout',
      'GET /users/presence/stream',
    ]) {
      assert.ok(!withKey.includes(route), `${route} does not take a key`);
    }
  });
});
