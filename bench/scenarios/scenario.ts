// A scenario: one kind of load against the running server. The runner calls each selected one in
// the order of the list in index.ts, at every bcrypt cost (`everyCost`) or in the first phase only.
import type { Phase } from '../lib/phase';

export interface Scenario {
  /** Its name for `--only=`. */
  name: string;
  /** Selected by any of these `--only` names (default: its own name). */
  selectedBy?: string[];
  /** bcrypt-bound: measured at every `--costs` value, not only the first. */
  everyCost?: boolean;
  run(phase: Phase): Promise<void>;
}
