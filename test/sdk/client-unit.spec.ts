// The client SDK's own unit tests (clients/typescript/test), run as part of the repository's `npm test`:
// they register their tests with node:test when imported, here under one suite.
import { describe } from 'node:test';
import { importClient, sdkMissing } from './sdk';

const skip = sdkMissing('build-test/test/client.test.js');

describe('client SDK unit tests (clients/typescript/test)', { skip }, async () => {
  await importClient('build-test/test/client.test.js');
});
