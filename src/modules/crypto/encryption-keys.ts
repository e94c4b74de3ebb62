// Where the keys of the secret box come from: ENCRYPTION_KEY when set (required in production, see
// src/config/variables.ts); otherwise, in development and tests, one key generated on first start and
// kept in DATA_DIR/encryption-key (mode 0600), so that what one run sealed the next run still opens.
import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CryptoConfig } from '../../config/configuration';
import { MIN_KEY_BYTES } from './secret-box.service';

const logger = new Logger('Crypto');

export function encryptionKeys(config: CryptoConfig): Buffer[] {
  if (config.encryptionKeys.length > 0) return config.encryptionKeys;
  return [readOrCreateKeyFile(config.generatedKeyFile)];
}

function readKeyFile(path: string): Buffer {
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length < MIN_KEY_BYTES) {
    throw new Error(`${path} does not hold a key of at least ${MIN_KEY_BYTES} bytes: remove it or set ENCRYPTION_KEY`);
  }
  return key;
}

function readOrCreateKeyFile(path: string): Buffer {
  try {
    return readKeyFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(path), { recursive: true });
  // Written aside and linked into place: the link fails if another process got there first, and
  // nobody ever reads a half-written file.
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, `${randomBytes(MIN_KEY_BYTES).toString('base64')}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600); // whatever the umask
  try {
    linkSync(temporary, path);
    logger.warn(`ENCRYPTION_KEY is not set: generated a key in ${path}; production requires ENCRYPTION_KEY`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  return readKeyFile(path);
}
