// The most common e2e setup: for one describe block, an app of its own and one user who is
// registered and signed in.
import { after, before } from 'node:test';
import { LoggedIn, registerAndLogin } from '../factories/users';
import { createTestApp, TestApp, TestAppOptions } from './create-test-app';

export interface SignedInApp {
  t: TestApp;
  user: LoggedIn;
}

/** Boots the app in the block's before() and closes it after; the fields are set once before() has run. */
export function withSignedInUser(options: TestAppOptions = {}): SignedInApp {
  const state = {} as SignedInApp;
  before(async () => {
    state.t = await createTestApp(options);
    state.user = await registerAndLogin(state.t.api);
  });
  after(() => state.t?.close());
  return state;
}
