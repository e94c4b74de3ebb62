import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encryptionKeys } from './encryption-keys';

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'latch-keys-'));
  dirs.push(dir);
  return dir;
}

describe('encryption keys', () => {
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('uses ENCRYPTION_KEY when set, and writes no file', () => {
    const dir = dataDir();
    const key = Buffer.alloc(32, 1);
    const keys = encryptionKeys({ encryptionKeys: [key], generatedKeyFile: join(dir, 'encryption-key') });
    assert.deepEqual(keys, [key]);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('without ENCRYPTION_KEY generates one key once under DATA_DIR, mode 0600, and reuses it', () => {
    const file = join(dataDir(), 'nested', 'encryption-key');
    const [first] = encryptionKeys({ encryptionKeys: [], generatedKeyFile: file });
    assert.equal(first?.length, 32);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const [again] = encryptionKeys({ encryptionKeys: [], generatedKeyFile: file });
    assert.deepEqual(again, first);
    assert.deepEqual(readdirSync(join(file, '..')), ['encryption-key'], 'no temporary file is left behind');
  });

  it('refuses a key file that holds no usable key rather than replacing it', () => {
    const file = join(dataDir(), 'encryption-key');
    writeFileSync(file, 'c2hvcnQ=\n');
    assert.throws(() => encryptionKeys({ encryptionKeys: [], generatedKeyFile: file }), /ENCRYPTION_KEY/);
  });
});
