import * as fs from 'node:fs';

interface SavedFile {
  existed: boolean;
  content?: Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
}

/**
 * Changes system files (/etc/nslcd.conf, /etc/nsswitch.conf, /etc/pam.d/…) for a test and puts
 * every one back exactly as it was: content, mode and owner, or absent. restore() runs from the
 * test's after() hook; as a last resort it also runs when the process exits.
 */
export class EtcGuard {
  private readonly saved = new Map<string, SavedFile>();
  private readonly createdDirs: string[] = [];
  private readonly onExit = (): void => this.restore();

  constructor() {
    process.on('exit', this.onExit);
  }

  /** Remembers a file's state the first time it is touched. */
  private remember(file: string): void {
    if (this.saved.has(file)) return;
    try {
      const stat = fs.statSync(file);
      this.saved.set(file, { existed: true, content: fs.readFileSync(file), mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid });
    } catch {
      this.saved.set(file, { existed: false });
    }
  }

  write(file: string, content: string, mode = 0o644): void {
    this.remember(file);
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode);
  }

  /** Rewrites a file from its current content. */
  edit(file: string, change: (content: string) => string): void {
    this.remember(file);
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    fs.writeFileSync(file, change(current));
  }

  /** Creates a directory (and records it for removal) unless it exists. */
  ensureDir(dir: string, owner?: { uid: number; gid: number }): void {
    if (fs.existsSync(dir)) return;
    fs.mkdirSync(dir, { recursive: true });
    if (owner) fs.chownSync(dir, owner.uid, owner.gid);
    this.createdDirs.push(dir);
  }

  /** Puts everything back; safe to call more than once. */
  restore(): void {
    for (const [file, state] of this.saved) {
      try {
        if (state.existed && state.content !== undefined) {
          fs.writeFileSync(file, state.content);
          fs.chmodSync(file, state.mode ?? 0o644);
          fs.chownSync(file, state.uid ?? 0, state.gid ?? 0);
        } else {
          fs.rmSync(file, { force: true });
        }
      } catch (error) {
        console.error(`EtcGuard: could not restore ${file}: ${(error as Error).message}`);
      }
    }
    this.saved.clear();
    for (const dir of this.createdDirs.reverse()) fs.rmSync(dir, { recursive: true, force: true });
    this.createdDirs.length = 0;
    process.removeListener('exit', this.onExit);
  }
}

/** Adds a source (e.g. `ldap`) to the given databases of an nsswitch.conf text, keeping everything else. */
export function addNsswitchSource(content: string, databases: string[], source: string): string {
  const lines = content.split('\n');
  for (const database of databases) {
    const index = lines.findIndex((line) => new RegExp(`^\\s*${database}:`).test(line));
    if (index === -1) {
      lines.push(`${database}: files ${source}`);
    } else if (!new RegExp(`\\s${source}(\\s|$)`).test(lines[index])) {
      lines[index] = `${lines[index].replace(/\s+$/, '')} ${source}`;
    }
  }
  return lines.join('\n');
}
