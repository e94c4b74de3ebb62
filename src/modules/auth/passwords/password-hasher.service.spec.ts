import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import * as bcrypt from 'bcrypt';
import { Metrics } from '../../observability/metrics/metrics.service';
import { PasswordHasher, prehash } from './password-hasher.service';

async function hasherWith(rounds: number): Promise<PasswordHasher> {
  const config = { get: () => ({ bcryptRounds: rounds, bcryptConcurrency: 2, bcryptQueueMax: 64 }) };
  const module = await Test.createTestingModule({
    providers: [PasswordHasher, Metrics, { provide: ConfigService, useValue: config }],
  }).compile();
  await module.init();
  return module.get(PasswordHasher);
}

describe('PasswordHasher', () => {
  let hasher: PasswordHasher;
  before(async () => {
    hasher = await hasherWith(4);
  });

  it('hashes with the configured cost and verifies the same password', async () => {
    const hash = await hasher.hash('Correct horse battery staple');
    assert.equal(bcrypt.getRounds(hash), 4);
    assert.equal(await hasher.verify('Correct horse battery staple', hash), true);
    assert.equal(await hasher.verify('Correct horse battery stapler', hash), false);
  });

  it('never stores the password itself and salts every hash', async () => {
    const a = await hasher.hash('same password twice');
    const b = await hasher.hash('same password twice');
    assert.notEqual(a, b);
    assert.ok(!a.includes('same password'));
  });

  it('distinguishes passwords that share their first 72 bytes', async () => {
    const prefix = 'é'.repeat(40); // 80 bytes in UTF-8
    const hash = await hasher.hash(`${prefix}A`);
    assert.equal(await hasher.verify(`${prefix}B`, hash), false);
    assert.equal(await hasher.verify(`${prefix}A`, hash), true);
  });

  it('treats NFKC-equivalent passwords as the same password', async () => {
    const hash = await hasher.hash('Ｐａｓｓ-word-é');
    assert.equal(await hasher.verify('Pass-word-e\u0301', hash), true);
    assert.equal(prehash('ﬁne-fine'), prehash('fine-fine'));
  });

  it('spends bcrypt work and says false when there is no stored hash', async () => {
    assert.equal(await hasher.verify('anything at all', null), false);
    assert.equal(await hasher.verify('anything at all', undefined), false);
  });

  it('asks for a rehash only when the stored cost is lower than configured', async () => {
    const low = await bcrypt.hash(prehash('x'), 4);
    assert.equal((await hasherWith(5)).needsRehash(low), true);
    assert.equal((await hasherWith(4)).needsRehash(low), false);
  });
});
