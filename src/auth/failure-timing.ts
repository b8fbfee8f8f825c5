// When a failed bind is answered (issue 13: binds must not tell which accounts exist). Checking a password
// costs what its stored scheme costs: microseconds for {SSHA512}, ~6 ms for {CRYPT}$6$, tens of ms for bcrypt
// or Argon2, nothing for a DN that does not exist. Answering a failure as soon as it is known tells an attacker
// from one attempt whether the account exists. So every failure is answered on a fixed grid instead: `floorMs`
// after the check started, or the next multiple of it when the check took longer (a check slower than the grid
// step still shows; keep auth.failedBindDelayMs above the slowest scheme in the store). The grid is fixed, not
// learnt from recent checks: each worker process would learn its own, and the kernel's round-robin of
// connections over the workers turned that into a difference between DNs (measured: 163 ms against 104 ms).
// Successes are answered at once: a right password tells the client more than any timing could.

import { performance } from 'node:perf_hooks';

export class FailureTiming {
  constructor(private readonly floorMs: number) {}

  /** Milliseconds to wait before answering a failure whose check started at `startedMs` (performance.now()). */
  remaining(startedMs: number, now = performance.now()): number {
    const step = this.floorMs;
    if (step <= 0) return 0;
    const elapsed = now - startedMs;
    const target = Math.max(1, Math.ceil(elapsed / step)) * step;
    return Math.max(0, target - elapsed);
  }
}
