// Helpers for the LDAP adapter tests that need no full ispd: raw sockets, a throwaway certificate,
// and the adapter started over the in-memory directory (test/support/memory-directory.ts).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as net from 'node:net';
import { startLdapServer, type LdapObserver, type LdapServer, type LdapServerOptions } from '../../src/ldap';
import { MemoryDirectory } from '../support/memory-directory';

export interface RecordedLog {
  level: 'info' | 'warn' | 'error' | 'debug';
  msg: string;
  obj: Record<string, unknown>;
}

export interface MemoryServer {
  server: LdapServer;
  directory: MemoryDirectory;
  port: number;
  url: string;
  logs: RecordedLog[];
  events: { protocolErrors: string[]; refused: string[]; bindFailures: string[]; operations: Array<{ op: string; code: number }>; opened: number; closed: number };
  stop(): Promise<void>;
}

/** The adapter over a MemoryDirectory, with a recording logger and observer. */
export async function startMemoryServer(overrides: Partial<LdapServerOptions> = {}, directory = new MemoryDirectory('o=test')): Promise<MemoryServer> {
  const logs: RecordedLog[] = [];
  const record = (level: RecordedLog['level']) => (obj: object, msg?: string): void => {
    logs.push({ level, msg: msg ?? '', obj: obj as Record<string, unknown> });
  };
  const events: MemoryServer['events'] = { protocolErrors: [], refused: [], bindFailures: [], operations: [], opened: 0, closed: 0 };
  const observer: LdapObserver = {
    onConnectionOpen: () => events.opened++,
    onConnectionClose: () => events.closed++,
    onConnectionRefused: (reason) => events.refused.push(reason),
    onOperation: (op, code) => events.operations.push({ op, code }),
    onProtocolError: (reason) => events.protocolErrors.push(reason),
    onBindFailure: (reason) => events.bindFailures.push(reason),
  };
  const server = await startLdapServer({
    directory,
    listen: { host: '127.0.0.1', port: 0 },
    limits: { maxPduBytes: 1024 * 1024, idleTimeoutSeconds: 0, maxConnections: 100, maxConnectionsPerAddress: 100 },
    allowAnonymous: true,
    allowV2Bind: true,
    rootDse: { namingContexts: directory.namingContexts, vendorVersion: 'ispd test' },
    logger: { info: record('info'), warn: record('warn'), error: record('error'), debug: record('debug') },
    observer,
    ...overrides,
  });
  const { port } = server.address();
  return { server, directory, port, url: `ldap://127.0.0.1:${port}`, logs, events, stop: () => server.close() };
}

/** A throwaway self-signed certificate for 127.0.0.1/localhost, made with openssl. */
export function makeSelfSignedCert(dir: string): { certFile: string; keyFile: string; cert: Buffer; key: Buffer } {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'ignore' });
  return { certFile, keyFile, cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
}

/** Opens a raw TCP connection; resolves once connected. */
export function rawConnect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Collects everything the peer sends until it closes the connection (or timeoutMs passes). */
export function readUntilClose(socket: net.Socket, timeoutMs = 5000): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => finish(false), timeoutMs);
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      resolve({ data: Buffer.concat(chunks), closed });
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.once('close', () => finish(true));
  });
}
