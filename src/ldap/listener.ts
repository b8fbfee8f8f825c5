// The LDAP and LDAPS listeners: accept, apply the connection limits, hand sockets to Connection.
// LDAPS sockets are wrapped in a TLSSocket here, the same way StartTLS wraps a plain one, so both use
// the one current SecureContext that reloadTls replaces.

import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Directory } from '../directory/types';
import { Connection } from './connection';
import { SUPPORTED_CONTROLS } from './controls';
import { supportedExtensions } from './ops/extended';
import { RootDse } from './rootdse';
import { ScanScheduler } from './scan-scheduler';
import type { ServerContext } from './server-context';
import type { LdapLogger, LdapObserver, LdapServer, LdapServerOptions, TlsMaterial } from './types';

const DEFAULT_SHUTDOWN_GRACE_MS = 5000;

class Listener implements ServerContext, LdapServer {
  readonly directory: Directory;
  readonly logger: LdapLogger;
  readonly observer: LdapObserver | undefined;
  readonly rootDse: RootDse;
  readonly scans: ScanScheduler;
  private readonly servers: { plain: net.Server; ldaps?: net.Server };
  private readonly open = new Set<Connection>();
  private readonly perAddress = new Map<string, number>();
  private context: tls.SecureContext | undefined;
  private nextId = 1;
  private idleSweep: NodeJS.Timeout | undefined;
  private outputSweep: NodeJS.Timeout | undefined;
  private closingPromise: Promise<void> | undefined;

  constructor(readonly options: LdapServerOptions) {
    this.directory = options.directory;
    this.logger = options.logger;
    this.observer = options.observer ? guardObserver(options.observer, options.logger) : undefined;
    if (options.tls) this.context = tls.createSecureContext(tlsOptions(options.tls));
    this.scans = new ScanScheduler({
      perIdentity: options.limits.unindexedPerIdentity ?? 2,
      sliceMs: options.limits.scanSliceMs ?? 2,
      onBusy: (busy) => this.observer?.onScanning?.(busy),
    });
    this.rootDse = new RootDse({
      namingContexts: options.rootDse.namingContexts,
      vendorName: options.rootDse.vendorName,
      vendorVersion: options.rootDse.vendorVersion,
      supportedLDAPVersion: options.allowV2Bind ? ['2', '3'] : ['3'],
      supportedControl: SUPPORTED_CONTROLS,
      supportedExtension: supportedExtensions({ tlsConfigured: options.tls !== undefined, passwordModify: typeof options.directory.passwordModify === 'function' }),
    });
    this.servers = { plain: this.createServer(false) };
    if (options.ldaps) {
      if (!options.tls) throw new Error('an LDAPS listener needs a TLS certificate and key');
      this.servers.ldaps = this.createServer(true);
    }
  }

  async start(): Promise<void> {
    await listen(this.servers.plain, this.options.listen);
    if (this.servers.ldaps && this.options.ldaps) {
      try {
        await listen(this.servers.ldaps, this.options.ldaps);
      } catch (err) {
        this.servers.plain.close();
        throw err;
      }
    }
    // Clients that do not read their answers: checked every second, for each connection and for the process.
    this.outputSweep = setInterval(() => this.closeUnread(), 1000);
    this.outputSweep.unref();
    const idleMs = this.options.limits.idleTimeoutSeconds * 1000;
    if (idleMs > 0) {
      this.idleSweep = setInterval(() => this.closeIdle(idleMs), Math.max(100, Math.min(idleMs / 4, 5000)));
      this.idleSweep.unref();
    }
    this.logger.info({ ldap: this.address(), ldaps: this.ldapsAddress() }, 'ldap: listening');
  }

  // ---- LdapServer ------------------------------------------------------------------------------------

  address(): { host: string; port: number } {
    return addressOf(this.servers.plain);
  }

  ldapsAddress(): { host: string; port: number } | undefined {
    return this.servers.ldaps ? addressOf(this.servers.ldaps) : undefined;
  }

  connections(): number {
    return this.open.size;
  }

  reloadTls(material: TlsMaterial): void {
    // Build first: a bad certificate throws here and the old context stays in use.
    this.context = tls.createSecureContext(tlsOptions(material));
    this.logger.info({}, 'ldap: TLS certificate reloaded');
  }

  close(): Promise<void> {
    this.closingPromise ??= this.shutdown();
    return this.closingPromise;
  }

  // ---- ServerContext ---------------------------------------------------------------------------------------

  secureContext(): tls.SecureContext | undefined {
    return this.context;
  }

  connectionClosed(connection: Connection, reason: string): void {
    if (!this.open.delete(connection)) return;
    const left = (this.perAddress.get(connection.peer) ?? 1) - 1;
    if (left <= 0) this.perAddress.delete(connection.peer);
    else this.perAddress.set(connection.peer, left);
    this.logger.debug({ conn: connection.id, peer: connection.peer, reason }, 'ldap: connection closed');
    this.observer?.onConnectionClose?.({ peer: connection.peer, secure: connection.secure, reason });
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  private createServer(ldaps: boolean): net.Server {
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket, ldaps));
    server.on('error', (err) => this.logger.error({ err, ldaps }, 'ldap: listener error'));
    return server;
  }

  private accept(socket: net.Socket, ldaps: boolean): void {
    // Whatever happens below, an error on this socket must never reach the process.
    socket.on('error', () => undefined);
    const peer = socket.remoteAddress ?? 'unknown';
    const limits = this.options.limits;
    let refusal: string | undefined;
    if (this.closingPromise) refusal = 'server shutting down';
    else if (this.open.size >= limits.maxConnections) refusal = 'maxConnections';
    else if (limits.maxConnectionsPerAddress > 0 && (this.perAddress.get(peer) ?? 0) >= limits.maxConnectionsPerAddress) {
      refusal = 'maxConnectionsPerAddress';
    }
    if (refusal !== undefined) {
      this.logger.warn({ peer, reason: refusal, open: this.open.size }, 'ldap: connection refused');
      this.observer?.onConnectionRefused?.(refusal);
      socket.destroy();
      return;
    }
    // A peer that vanished (no FIN, no RST) while we wait to write to it is found by keepalive probes.
    socket.setKeepAlive(true, 60_000);
    let stream: net.Socket = socket;
    if (ldaps) {
      const context = this.context;
      if (context === undefined) {
        socket.destroy();
        return;
      }
      stream = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
    }
    const connection = new Connection(this, stream, { id: this.nextId++, peer, secure: ldaps });
    this.open.add(connection);
    this.perAddress.set(peer, (this.perAddress.get(peer) ?? 0) + 1);
    this.logger.debug({ conn: connection.id, peer, ldaps }, 'ldap: connection opened');
    this.observer?.onConnectionOpen?.({ peer, secure: ldaps });
  }

  /** Closes connections whose answers wait too long, then the biggest holders while the process holds too much. */
  private closeUnread(): void {
    const limits = this.options.limits;
    const timeoutMs = (limits.writeTimeoutSeconds ?? 60) * 1000;
    const now = Date.now();
    let total = 0;
    for (const connection of this.open) {
      if (timeoutMs > 0 && connection.writeStalled(now, timeoutMs)) connection.overflow('write_timeout', `answers unread for ${timeoutMs / 1000} s`);
      else total += connection.bufferedOutput;
    }
    const cap = limits.maxBufferedOutputTotal ?? 256 * 1024 * 1024;
    if (total <= cap) return;
    const holders = [...this.open].filter((c) => c.bufferedOutput > 0).sort((a, b) => b.bufferedOutput - a.bufferedOutput);
    for (const connection of holders) {
      if (total <= cap) break;
      total -= connection.bufferedOutput;
      connection.overflow('output_total_limit', `the process holds more than ${cap} bytes of unread answers`);
    }
  }

  private closeIdle(idleMs: number): void {
    const now = Date.now();
    for (const connection of this.open) {
      if (connection.isIdle(now, idleMs)) {
        this.logger.info({ conn: connection.id, peer: connection.peer }, 'ldap: closing idle connection');
        connection.end('idle timeout');
      }
    }
  }

  private async shutdown(): Promise<void> {
    if (this.idleSweep) clearInterval(this.idleSweep);
    if (this.outputSweep) clearInterval(this.outputSweep);
    const stopped = [this.servers.plain, this.servers.ldaps].filter((s): s is net.Server => s !== undefined).map(
      (server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
    );
    const grace = this.options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
    await Promise.all([...this.open].map((connection) => connection.shutdown(grace)));
    await Promise.all(stopped);
    this.logger.info({}, 'ldap: stopped');
  }
}

/**
 * The observer is called from socket event handlers, where an exception would take the process down:
 * a failing metrics hook is logged and otherwise ignored.
 */
function guardObserver(observer: LdapObserver, logger: LdapLogger): LdapObserver {
  const guarded: LdapObserver = {};
  const hooks: Array<keyof LdapObserver> = ['onConnectionOpen', 'onConnectionClose', 'onConnectionRefused', 'onOperation', 'onProtocolError', 'onBindFailure', 'onScanning'];
  for (const name of hooks) {
    const hook = observer[name] as ((...args: unknown[]) => void) | undefined;
    if (typeof hook !== 'function') continue;
    (guarded as Record<string, (...args: unknown[]) => void>)[name] = (...args: unknown[]) => {
      try {
        hook.apply(observer, args);
      } catch (err) {
        logger.error({ err, hook: name }, 'ldap: observer hook failed');
      }
    };
  }
  return guarded;
}

function tlsOptions(material: TlsMaterial): tls.SecureContextOptions {
  const options: tls.SecureContextOptions = { cert: material.cert, key: material.key };
  if (material.ca !== undefined) options.ca = material.ca;
  return options;
}

function listen(server: net.Server, where: { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host: where.host, port: where.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function addressOf(server: net.Server): { host: string; port: number } {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('LDAP listener is not listening');
  return { host: address.address, port: address.port };
}

export async function startLdapServer(options: LdapServerOptions): Promise<LdapServer> {
  const listener = new Listener(options);
  await listener.start();
  return listener;
}
