// The scenarios in the order they run. To add one: a file exporting a `Scenario` (see
// scenario.ts; `phase.measure` does the measuring), an entry here, and, if it has a target, a row
// in lib/targets.ts.
import { ceilingAfter, ceilingBefore } from './ceiling';
import { db } from './db';
import { forgotPassword } from './forgot-password';
import { login } from './login';
import { refresh } from './refresh';
import { register } from './register';
import type { Scenario } from './scenario';
import { storm } from './storm';
import { usersMe } from './users-me';
import { verify } from './verify';
import { verifyApiKey } from './verify-api-key';
import { jwks } from './jwks';
import { signing } from './signing';

export const SCENARIOS: readonly Scenario[] = [
  ceilingBefore,
  login,
  register,
  ceilingAfter,
  usersMe,
  verify,
  verifyApiKey,
  refresh,
  forgotPassword,
  storm,
  db,
  jwks,
  signing,
];

/** The names `--only=` accepts (ceiling-after comes with login and register). */
export const SCENARIO_NAMES: readonly string[] = SCENARIOS.filter(
  (s) => !s.selectedBy || s.selectedBy.includes(s.name),
).map((s) => s.name);

export function selected(scenario: Scenario, only: Set<string>): boolean {
  return (scenario.selectedBy ?? [scenario.name]).some((name) => only.has(name));
}
