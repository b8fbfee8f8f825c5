import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitForTcpPort } from './ports';

/** The repository root, from dist/test/support (compiled) or test/support (ts-node). */
export const REPO_ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');

/** The demo directory shipped with ispd (used by `npm start` and by the tests). */
export const DEMO_LDIF = path.join(REPO_ROOT, 'src', 'provision', 'demo-data.ldif');

export function makeTempDir(owner: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ispd-${owner}-`));
}

export interface ServerProcess {
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far (bounded). */
  output(): string;
  /** SIGTERM, wait up to `graceMs`, then SIGKILL; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const MAX_CAPTURED_OUTPUT = 256 * 1024;

/**
 * Spawns a server in the foreground and waits until it accepts TCP connections on host:port.
 * On failure (exit or timeout) the process is killed and the error carries its output.
 */
export async function startServerProcess(options: {
  executable: string;
  args: string[];
  host: string;
  port: number;
  startTimeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** false: return right after spawning (the caller has its own readiness check, e.g. a socket file). */
  waitForPort?: boolean;
  /** Run in a new session and process group (Postfix's master signals its own group when it stops). */
  detached?: boolean;
}): Promise<ServerProcess> {
  const child = spawn(options.executable, options.args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    detached: options.detached ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let captured = '';
  const capture = (chunk: Buffer): void => {
    captured += chunk.toString('utf8');
    if (captured.length > MAX_CAPTURED_OUTPUT) captured = captured.slice(-MAX_CAPTURED_OUTPUT);
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (error) => {
      captured += `\nspawn error: ${error.message}`;
      exited = true;
      resolve();
    });
  });

  const stop = async (graceMs = 5000): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const killTimer = setTimeout(() => {
      if (!exited) child.kill('SIGKILL');
    }, graceMs);
    await exitedPromise;
    clearTimeout(killTimer);
  };

  if (options.waitForPort === false) return { child, output: () => captured, stop };
  try {
    await waitForTcpPort(options.host, options.port, options.startTimeoutMs, () => !exited);
  } catch (error) {
    await stop(1000);
    const commandLine = [options.executable, ...options.args].join(' ');
    throw new Error(`${(error as Error).message}\n  command: ${commandLine}\n  exit code: ${child.exitCode} signal: ${child.signalCode}\n  output:\n${captured}`);
  }
  return { child, output: () => captured, stop };
}
