// Swagger UI in headless Chromium, as a person trying the API uses it: Authorize with an API key
// pasted under "apiKey", or with the OAuth2 password form, then "Try it out" on GET /users/me.
// The answer Swagger UI shows must be the user's profile, so the scheme really reaches the server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKey } from '../api-keys/helpers';
import { login, registerUser, TestUser } from '../factories/users';
import { browserMissing, launchChromium } from '../utils/browser';
import { createTestApp, TestApp } from '../utils/create-test-app';

const ME = '#operations-users-UsersController_me';

describe('Swagger UI Authorize', { skip: browserMissing }, () => {
  let t: TestApp;
  let browser: any;
  let user: TestUser;

  before(async () => {
    t = await createTestApp();
    browser = await launchChromium();
    user = await registerUser(t.api);
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  /** Opens /docs in a fresh context, lets `authorize` fill the dialog, then runs GET /users/me. */
  async function tryUsersMe(authorize: (dialog: any) => Promise<void>): Promise<{ status: string; body: string }> {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${t.root.baseUrl}/docs`);
      await page.click('.swagger-ui .auth-wrapper .btn.authorize');
      const dialog = page.locator('.modal-ux');
      await authorize(dialog);
      await dialog.locator('button.btn-done').first().click();
      const operation = page.locator(ME);
      await operation.locator('.opblock-summary').first().click();
      await operation.locator('button.try-out__btn').click();
      await operation.locator('button.execute').click();
      const response = operation.locator('.live-responses-table .response').first();
      await response.waitFor({ timeout: 15_000 });
      return {
        status: (await response.locator('.response-col_status').innerText()).trim(),
        body: await response.locator('.response-col_description').innerText(),
      };
    } finally {
      await context.close();
    }
  }

  it('an API key pasted under apiKey reaches GET /users/me as X-API-Key', async () => {
    const { accessToken } = await login(t.api, user);
    const { key } = await createKey(t.api, accessToken, { name: 'swagger', scopes: ['profile'] });
    const shown = await tryUsersMe(async (dialog) => {
      const section = dialog.locator('.auth-container', { hasText: 'X-API-Key' });
      await section.locator('input').fill(key);
      await section.locator('button.authorize').click();
    });
    assert.match(shown.status, /^200/);
    assert.ok(shown.body.includes(user.email), `the profile is shown: ${shown.body.slice(0, 200)}`);
  });

  it('without authorizing, the same operation shows 401', async () => {
    const shown = await tryUsersMe(async () => {});
    assert.match(shown.status, /^401/);
  });

  it('the OAuth2 password form signs in through /auth/token and the operation gets the profile', async () => {
    const shown = await tryUsersMe(async (dialog) => {
      const section = dialog.locator('.auth-container', { hasText: 'OAuth2, password' });
      await section.locator('#oauth_username').fill(user.email);
      await section.locator('#oauth_password').fill(user.password);
      await section.locator('button.authorize').click();
      await section.getByText('Authorized').waitFor({ timeout: 15_000 });
    });
    assert.match(shown.status, /^200/);
    assert.ok(shown.body.includes(user.email), `the profile is shown: ${shown.body.slice(0, 200)}`);
  });
});
