import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where Debian puts the client programs; /usr/sbin is not on every user's PATH (postmap, nslcd, dovecot). */
const SEARCH_DIRS = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export interface ClientResult {
  /** Exit code, or null when the process was killed by a signal (for instance on timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The command line, for assertion messages. */
  command: string;
}

export interface RunOptions {
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Absolute path of an installed program, or undefined. */
export function findProgram(name: string): string | undefined {
  if (name.includes('/')) return fs.existsSync(name) ? name : undefined;
  for (const dir of SEARCH_DIRS) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** True in CI, where a missing Debian client is a failure instead of a skipped test. */
export function clientsAreMandatory(): boolean {
  return process.env.CI === 'true';
}

/**
 * Checks that every program (or file, when given an absolute path) exists. When one is
 * missing: skips the current test or suite on a laptop, throws in CI.
 */
export function requirePrograms(context: Mocha.Context, ...names: string[]): void {
  const missing = names.filter((name) => findProgram(name) === undefined);
  if (missing.length === 0) return;
  const reason = `missing Debian client(s): ${missing.join(', ')} (.ci/run installs them)`;
  if (clientsAreMandatory()) throw new Error(`${reason}; CI=true, so this is a failure`);
  console.warn(`    skipped: ${reason}`);
  context.skip();
}

/** Runs a program to completion with a hard timeout (SIGKILL), collecting its output. Never rejects on a non-zero exit. */
export function runClient(program: string, args: readonly string[], options: RunOptions = {}): Promise<ClientResult> {
  const executable = findProgram(program) ?? program;
  const timeoutMs = options.timeoutMs ?? 15000;
  const command = [program, ...args].map((part) => (/[\s"'()|&*]/.test(part) ? JSON.stringify(part) : part)).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(executable, [...args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, command });
    });
    child.stdin.on('error', () => undefined); // the program may exit before reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** A compact description of a result for assertion messages. */
export function describeResult(result: ClientResult): string {
  return `${result.command}\n  exit=${result.code} signal=${result.signal}${result.timedOut ? ' (timed out)' : ''}\n  stdout: ${result.stdout.trim().slice(0, 2000)}\n  stderr: ${result.stderr.trim().slice(0, 2000)}`;
}

/** Parses ldapsearch -LLL output into entries: DN plus attribute values (unfolded; base64 values decoded). */
export function parseLdif(text: string): Array<{ dn: string; attributes: Map<string, string[]> }> {
  const unfolded = text.replace(/\r?\n /g, '');
  const entries: Array<{ dn: string; attributes: Map<string, string[]> }> = [];
  for (const block of unfolded.split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((line) => line.length > 0 && !line.startsWith('#'));
    if (lines.length === 0) continue;
    let dn: string | undefined;
    const attributes = new Map<string, string[]>();
    for (const line of lines) {
      const match = /^([^:]+)(::?) ?(.*)$/.exec(line);
      if (!match) continue;
      const [, name, separator, raw] = match;
      const value = separator === '::' ? Buffer.from(raw, 'base64').toString('utf8') : raw;
      if (dn === undefined && name.toLowerCase() === 'dn') {
        dn = value;
        continue;
      }
      const key = name.toLowerCase();
      attributes.set(key, [...(attributes.get(key) ?? []), value]);
    }
    if (dn !== undefined) entries.push({ dn, attributes });
  }
  return entries;
}

/**
 * A DN in a form two servers' answers can be compared in: RDNs split on unescaped commas and
 * trimmed (ISPMan writes ", "), case folded, and escapes of characters that need none in a value
 * (`\=`, hex pairs of printable ASCII) resolved, so that slapd's `tXTRecord=v=spf1 …` and
 * `tXTRecord=v\=spf1 …` compare equal. Enough for the demo data, not a general DN normalizer.
 */
export function comparableDn(dn: string): string {
  const rdns: string[] = [];
  let current = '';
  for (let i = 0; i < dn.length; i++) {
    const char = dn[i];
    if (char === '\\' && i + 1 < dn.length) {
      const hex = /^[0-9a-fA-F]{2}/.exec(dn.slice(i + 1, i + 3));
      const decoded = hex ? String.fromCharCode(parseInt(hex[0], 16)) : dn[i + 1];
      i += hex ? 2 : 1;
      current += /[,+;<>"\\#]/.test(decoded) ? `\\${decoded}` : decoded;
      continue;
    }
    if (char === ',') {
      rdns.push(current.trim());
      current = '';
      continue;
    }
    current += char;
  }
  rdns.push(current.trim());
  return rdns.map((rdn) => rdn.replace(/\s*=\s*/, '=')).join(',').toLowerCase();
}
