// The README's configuration table and .env.example name every variable the declaration knows.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { declaredVariables } from '../src/config/variables';

// This file runs compiled, from .build/test/.
const ROOT = join(__dirname, '..', '..');

describe('configuration documentation', () => {
  it('lists every declared variable in the README and in .env.example', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const variables = declaredVariables();
    assert.ok(variables.length > 40);
    const missing = variables.flatMap(({ name }) => [
      ...(readme.includes(`\`${name}\``) ? [] : [`${name} (README.md)`]),
      ...(new RegExp(`\\b${name}\\b`).test(example) ? [] : [`${name} (.env.example)`]),
    ]);
    assert.deepEqual(missing, [], `not documented: ${missing.join(', ')}`);
  });
});
