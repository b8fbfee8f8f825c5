// Progress for long work (import, export, reindex): on a terminal a one-line bar with count, rate and
// ETA redrawn in place; otherwise (a log file, a pipe, systemd's journal) one plain line every few
// seconds, so a long import in a unit's log shows how far it got. Always a final line with the total.

/** Seconds between plain progress lines when the output is not a terminal (ISPD_PROGRESS_INTERVAL overrides). */
const DEFAULT_LINE_INTERVAL_S = 5;
/** Redraws of the terminal bar at most this often. */
const BAR_INTERVAL_MS = 200;
const BAR_WIDTH = 24;

export interface ProgressOptions {
  /** Minimum milliseconds between updates; default 200 on a terminal, 5 s otherwise. */
  readonly intervalMs?: number;
}

function defaultLineIntervalMs(): number {
  const fromEnv = Number(process.env.ISPD_PROGRESS_INTERVAL);
  return (Number.isFinite(fromEnv) && fromEnv >= 0 && process.env.ISPD_PROGRESS_INTERVAL !== '' ? fromEnv : DEFAULT_LINE_INTERVAL_S) * 1000;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class Progress {
  private start = Date.now();
  private lastPrint = 0;
  private total = 0;
  private name = '';
  private barShown = false;
  private readonly tty: boolean;
  private readonly intervalMs: number;

  /** `what` names the command (import, export, reindex); lines go to `out` (stderr: stdout may carry data). */
  constructor(private readonly what: string, private readonly out: NodeJS.WritableStream, options: ProgressOptions = {}) {
    this.tty = Boolean((out as { isTTY?: boolean }).isTTY);
    this.intervalMs = options.intervalMs ?? (this.tty ? BAR_INTERVAL_MS : defaultLineIntervalMs());
  }

  /** Starts a named step (check, load, export …); total 0 = unknown (no percentage or ETA). */
  phase(name: string, total = 0): void {
    this.endBar();
    this.name = name;
    this.total = total;
    this.start = Date.now();
    this.lastPrint = this.start;
    if (this.tty) this.draw(0, this.start);
  }

  /** `done` items so far in this phase. Cheap when nothing is due: one clock read. */
  tick(done: number): void {
    const now = Date.now();
    if (now - this.lastPrint < this.intervalMs) return;
    this.lastPrint = now;
    this.draw(done, now);
  }

  /** Ends the phase with a summary line ("97 entries imported from x.ldif in 0.1s"). */
  done(message: string): void {
    this.endBar();
    this.out.write(`${message} in ${((Date.now() - this.start) / 1000).toFixed(1)}s\n`);
  }

  private draw(done: number, now: number): void {
    const seconds = (now - this.start) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const rateText = `${Math.round(rate)}/s`;
    if (this.tty) {
      let line = `${this.what} ${this.name}`;
      if (this.total > 0) {
        const fraction = Math.min(1, done / this.total);
        const filled = Math.round(fraction * BAR_WIDTH);
        const eta = rate > 0 ? formatDuration((this.total - done) / rate) : '?';
        line += ` [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(fraction * 100).toFixed(0)}% ${done}/${this.total} ${rateText} ETA ${eta}`;
      } else {
        line += ` ${done} entries ${rateText}`;
      }
      this.out.write(`\r${line}\x1b[K`);
      this.barShown = true;
      return;
    }
    let line = `${this.what} ${this.name}: ${done}${this.total > 0 ? `/${this.total}` : ''} entries`;
    if (this.total > 0) line += ` (${Math.min(100, (100 * done) / this.total).toFixed(0)}%)`;
    line += `, ${rateText}`;
    if (this.total > 0 && rate > 0) line += `, ETA ${formatDuration((this.total - done) / rate)}`;
    this.out.write(`${new Date(now).toISOString()} ${line}\n`);
  }

  private endBar(): void {
    if (this.tty && this.barShown) this.out.write('\n');
    this.barShown = false;
  }
}
