import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryDelaySeconds } from './mail-dispatcher.service';

describe('mail retry backoff', () => {
  it('retries first within seconds, then doubles up to at most about 50 s apart', () => {
    for (let i = 0; i < 50; i++) {
      assert.ok(retryDelaySeconds(1) >= 2 && retryDelaySeconds(1) <= 2.2);
      assert.ok(retryDelaySeconds(2) >= 4 && retryDelaySeconds(2) <= 4.4);
      for (const attempt of [6, 7, 10, 100]) {
        const delay = retryDelaySeconds(attempt);
        assert.ok(delay >= 45 && delay <= 49.5, `attempt ${attempt}: ${delay}`);
      }
    }
  });
});
