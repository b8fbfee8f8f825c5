// Progress for long work (import, export, reindex): a one-line bar with rate and ETA on a terminal,
// a log line every few seconds otherwise.

export class Progress {
  private start = Date.now();
  private lastPrint = 0;
  private total = 0;
  private name = '';
  private readonly tty: boolean;

  constructor(private readonly what: string, private readonly out: NodeJS.WriteStream) {
    this.tty = !!out.isTTY;
  }

  phase(name: string, total = 0): void {
    this.endLine();
    this.name = name;
    this.total = total;
    this.start = Date.now();
    this.lastPrint = 0;
  }

  tick(done: number): void {
    const now = Date.now();
    if (now - this.lastPrint < (this.tty ? 200 : 5000)) return;
    this.lastPrint = now;
    const secs = (now - this.start) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    let line = `${this.what} ${this.name}: ${done}${this.total ? `/${this.total}` : ''} entries, ${Math.round(rate)}/s`;
    if (this.total && rate > 0) {
      const pct = Math.min(100, (100 * done) / this.total);
      const width = 24;
      const filled = Math.round((pct / 100) * width);
      line = `${this.what} ${this.name} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct.toFixed(0)}% ${done}/${this.total} ${Math.round(rate)}/s ETA ${Math.ceil((this.total - done) / rate)}s`;
    }
    if (this.tty) this.out.write(`\r${line}\x1b[K`);
    else this.out.write(line + '\n');
  }

  done(message: string): void {
    this.endLine();
    this.out.write(`${message} in ${((Date.now() - this.start) / 1000).toFixed(1)}s\n`);
  }

  private endLine(): void {
    if (this.tty && this.lastPrint) this.out.write('\n');
  }
}
