// Long searches yield to short ones (issue 13: 100 concurrent unindexed subtree searches pushed Postfix lookups
// to seconds and DNS answers, served on the same event loop, past 3 s). One scheduler per process:
//
//  - Admission: at most `perIdentity` unindexed searches of one identity run at a time in this process
//    (anonymous clients: per client address); the others wait in line, in arrival order, costing nothing but
//    their decoded request (slapd's `limits` caps how much one identity may make the server do).
//  - Slices: a running scan works for at most `sliceMs`, then queues for its next turn. Turns are handed out
//    round robin with a pause of one slice between two of them, so the loop polls its sockets between two
//    slices (a lookup or a DNS query waits at most one slice behind all the scanning, however many scans run)
//    and scans take at most about half of the process's CPU time.

import { performance } from 'node:perf_hooks';
import type { OperationSignal } from './connection';

export interface ScanSchedulerOptions {
  /** Unindexed searches one identity may run at once in this process (0 = no limit). */
  perIdentity: number;
  /** Milliseconds of scanning per turn. */
  sliceMs: number;
  /** Told when the process starts running unindexed searches, and when none has run for a moment. */
  onBusy?(busy: boolean): void;
}

/** How long after the last scan ends the process counts as idle again (no flapping between searches). */
const IDLE_AFTER_MS = 200;

export class ScanScheduler {
  private readonly running = new Map<string, number>();
  private readonly lines = new Map<string, Array<() => void>>();
  private readonly turns: Array<() => void> = [];
  private pumping = false;
  private active = 0;
  private busy = false;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Searches waiting for admission or running now (for logs and tests). */
  waitingForAdmission = 0;

  constructor(private readonly options: ScanSchedulerOptions) {}

  get sliceMs(): number {
    return this.options.sliceMs;
  }

  /**
   * Waits until `key` may run another unindexed search; resolves to a release function, or to undefined when
   * the signal aborted while waiting (abandon, disconnect: the search never runs).
   */
  async admit(key: string, signal: OperationSignal): Promise<(() => void) | undefined> {
    const limit = this.options.perIdentity;
    if (limit > 0 && (this.running.get(key) ?? 0) >= limit) {
      this.waitingForAdmission++;
      const admitted = await new Promise<boolean>((resolve) => {
        const line = this.lines.get(key) ?? [];
        this.lines.set(key, line);
        const go = (): void => {
          signal.removeEventListener('abort', quit);
          resolve(true);
        };
        const quit = (): void => {
          const i = line.indexOf(go);
          if (i >= 0) line.splice(i, 1);
          if (line.length === 0 && this.lines.get(key) === line) this.lines.delete(key);
          resolve(false);
        };
        line.push(go);
        signal.addEventListener('abort', quit, { once: true });
      });
      this.waitingForAdmission--;
      if (!admitted) return undefined;
    } else {
      this.running.set(key, (this.running.get(key) ?? 0) + 1);
    }
    this.started();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.ended();
      const line = this.lines.get(key);
      const next = line?.shift();
      if (line && line.length === 0) this.lines.delete(key);
      // The slot passes straight to the next in line (the running count stays), or is given back.
      if (next) next();
      else {
        const left = (this.running.get(key) ?? 1) - 1;
        if (left <= 0) this.running.delete(key);
        else this.running.set(key, left);
      }
    };
  }

  private started(): void {
    this.active++;
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
    if (!this.busy) {
      this.busy = true;
      this.options.onBusy?.(true);
    }
  }

  private ended(): void {
    if (--this.active > 0 || !this.busy) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.active > 0) return;
      this.busy = false;
      this.options.onBusy?.(false);
    }, IDLE_AFTER_MS);
    this.idleTimer.unref();
  }

  /** Resolves at this scan's next turn (round robin with every other scan of the process). */
  turn(): Promise<void> {
    return new Promise((resolve) => {
      this.turns.push(resolve);
      if (!this.pumping) {
        this.pumping = true;
        setImmediate(this.pump);
      }
    });
  }

  /** A slice that began at `startedMs` is used up. */
  spent(startedMs: number): boolean {
    return performance.now() - startedMs >= this.options.sliceMs;
  }

  /**
   * One turn, then a pause as long as a slice before the next: the loop polls its sockets between two slices,
   * and the process leaves half of its CPU time unused by scans, so on a busy machine the kernel wakes it at
   * once for a lookup or a DNS query instead of queueing it behind processes that used less CPU (measured
   * under a load average of 28 on two cores: turns one loop iteration apart kept lookups at p50 26 ms).
   */
  private readonly pump = (): void => {
    const next = this.turns.shift();
    if (next) next();
    if (this.turns.length > 0 || next) setTimeout(this.afterSlice, this.options.sliceMs);
    else this.pumping = false;
  };

  private readonly afterSlice = (): void => {
    if (this.turns.length > 0) this.pump();
    else this.pumping = false;
  };
}
