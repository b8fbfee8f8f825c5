// Helpers for the LDAP adapter tests that need no full ispd: raw sockets, a throwaway certificate,
// and the adapter started over the in-memory directory (test/support/memory-directory.ts).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as net from 'node:net';
import { startLdapServer, type LdapObserver, type LdapServer, type LdapServerOptions } from '../../src/ldap';
import { PduFramer } from '../../src/ldap/framing';
import { asn1, type BerWriter } from '../../src/ldap/ldapjs';
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
export function rawConnect(port: number, host = '127.0.0.1', localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, ...(localAddress ? { localAddress } : {}) }, () => {
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

// ---- a raw LDAP client: hand-built requests, every response decoded by @ldapjs/messages ----------------

// eslint-disable-next-line @typescript-eslint/no-var-requires
const ldapjsMessages = require('@ldapjs/messages');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { BerReader } = require('@ldapjs/asn1');

export interface Response {
  type: string;
  messageId: number;
  status?: number;
  diagnosticMessage?: string;
  matchedDN?: string;
  responseName?: string;
  responseValue?: string;
  objectName?: string;
  raw: Buffer;
}

export const request = {
  bind: (messageId: number, name: string, credentials: string): Buffer =>
    new ldapjsMessages.BindRequest({ messageId, name, credentials }).toBer().buffer,
  search: (messageId: number, baseObject: string, filter = '(objectClass=*)', attributes: string[] = []): Buffer =>
    new ldapjsMessages.SearchRequest({ messageId, baseObject, scope: 'sub', filter, attributes }).toBer().buffer,
  abandon: (messageId: number, abandonId: number): Buffer => new ldapjsMessages.AbandonRequest({ messageId, abandonId }).toBer().buffer,
  extended: (messageId: number, requestName: string): Buffer => new ldapjsMessages.ExtensionRequest({ messageId, requestName }).toBer().buffer,
  unbind: (messageId: number): Buffer => new ldapjsMessages.UnbindRequest({ messageId }).toBer().buffer,
  add: (messageId: number, dn: string, attributes: Record<string, string[]>): Buffer =>
    envelope(messageId, (w) => {
      w.startSequence(0x68);
      w.writeString(dn);
      w.startSequence();
      for (const [type, values] of Object.entries(attributes)) writeAttribute(w, type, values);
      w.endSequence();
      w.endSequence();
    }),
  modify: (messageId: number, dn: string, operation: 'add' | 'delete' | 'replace' | 'increment', type: string, values: string[]): Buffer =>
    envelope(messageId, (w) => {
      w.startSequence(0x66);
      w.writeString(dn);
      w.startSequence();
      w.startSequence();
      w.writeEnumeration(['add', 'delete', 'replace', 'increment'].indexOf(operation));
      writeAttribute(w, type, values);
      w.endSequence();
      w.endSequence();
      w.endSequence();
    }),
  compare: (messageId: number, dn: string, attribute: string, value: string): Buffer =>
    envelope(messageId, (w) => {
      w.startSequence(0x6e);
      w.writeString(dn);
      w.startSequence();
      w.writeString(attribute);
      w.writeString(value);
      w.endSequence();
      w.endSequence();
    }),
};

function envelope(messageId: number, op: (w: BerWriter) => void): Buffer {
  const w = new asn1.BerWriter();
  w.startSequence();
  w.writeInt(messageId);
  op(w);
  w.endSequence();
  return Buffer.from(w.buffer);
}

function writeAttribute(w: BerWriter, type: string, values: string[]): void {
  w.startSequence();
  w.writeString(type);
  w.startSequence(0x31);
  for (const value of values) w.writeString(value);
  w.endSequence();
  w.endSequence();
}

/** Reads LDAP responses off a socket, one PDU at a time; `closed` settles when the server closes. */
export class RawClient {
  readonly closed: Promise<void>;
  private readonly framer = new PduFramer(64 * 1024 * 1024);
  private readonly queue: Response[] = [];
  private waiter: (() => void) | undefined;
  private isClosed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.framer.push(chunk);
      for (let pdu = this.framer.next(); pdu; pdu = this.framer.next()) this.queue.push(decodeResponse(Buffer.from(pdu)));
      this.waiter?.();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.isClosed = true;
      this.waiter?.();
      resolve();
    }));
  }

  /** `localAddress`: the client's own address (127.0.0.2 … is another client to the server). */
  static async connect(port: number, localAddress?: string): Promise<RawClient> {
    return new RawClient(await rawConnect(port, '127.0.0.1', localAddress));
  }

  /** A client over an already open socket (a TLSSocket after StartTLS, say). */
  static over(socket: net.Socket): RawClient {
    return new RawClient(socket);
  }

  /** Stops reading: the socket is handed over (to a TLSSocket) without losing bytes to this client. */
  detach(): net.Socket {
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    return this.socket;
  }

  send(pdu: Buffer): void {
    this.socket.write(pdu);
  }

  /** The next response, or undefined if the server closed first / nothing came within timeoutMs. */
  async next(timeoutMs = 5000): Promise<Response | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0 && !this.isClosed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.queue.shift();
  }

  /** Responses up to and including the one of type `type` for `messageId`. */
  async until(type: string, messageId: number, timeoutMs = 10000): Promise<Response[]> {
    const got: Response[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = await this.next(Math.max(1, deadline - Date.now()));
      if (!response) throw new Error(`no ${type} for message ${messageId}; got ${got.length} responses`);
      got.push(response);
      if (response.type === type && response.messageId === messageId) return got;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

function decodeResponse(pdu: Buffer): Response {
  const message = ldapjsMessages.LdapMessage.parse(new BerReader(pdu));
  const response: Response = { type: message.type, messageId: message.id, raw: pdu };
  for (const field of ['status', 'diagnosticMessage', 'matchedDN', 'responseName', 'responseValue'] as const) {
    if (message[field] !== undefined) (response as unknown as Record<string, unknown>)[field] = message[field];
  }
  if (message.type === 'SearchResultEntry') response.objectName = String(message.objectName);
  return response;
}
