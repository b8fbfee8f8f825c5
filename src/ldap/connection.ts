// One client connection: framing, decoding, request scheduling with bounded memory, writes with
// backpressure, abandon, StartTLS, idle tracking and shutdown. Nothing here may throw out of a socket
// event handler: every failure ends in a log line and, at worst, this connection closing.

import type * as net from 'node:net';
import * as tls from 'node:tls';
import { ResultCode } from '../directory/errors';
import type { Identity, OperationContext } from '../directory/types';
import { DecodeError, decodeRequest, encodeNoticeOfDisconnection } from './codec';
import { dispatch } from './dispatch';
import { FramingError, PduFramer } from './framing';
import type { ServerContext } from './server-context';
import type { LdapRequest } from './types';

export const ANONYMOUS: Identity = Object.freeze({ dn: '', dnNorm: '' });

const DEFAULT_MAX_OUTSTANDING = 64;
const DEFAULT_MAX_BUFFERED_OUTPUT = 16 * 1024 * 1024;

interface InFlight {
  request: LdapRequest;
  signal: OperationSignal;
}

/** Why an operation's signal was aborted: abandon → no response at all; disconnect → nobody to answer. */
export type AbortReason = 'abandoned' | 'disconnected';

/**
 * The abort signal of one operation (abandon, disconnect). The operations read `aborted` and wait on
 * 'abort' while a slow client drains; a real AbortController (an EventTarget, and a GC-tracked one) per
 * operation cost ~3% of a lookup's CPU, so this is the small part of AbortSignal they use.
 */
export class OperationSignal {
  aborted = false;
  reason: AbortReason | undefined;
  private listeners: (() => void)[] | null = null;

  abort(reason: AbortReason): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = null;
    if (listeners) for (const listener of listeners) listener();
  }

  addEventListener(_type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    // Every listener is called once: a signal aborts at most once.
    if (this.aborted) return;
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const index = this.listeners?.indexOf(listener) ?? -1;
    if (index >= 0) this.listeners!.splice(index, 1);
  }

  /** As the directory sees it (OperationContext.signal): it only reads `aborted`. */
  asAbortSignal(): AbortSignal {
    return this as unknown as AbortSignal;
  }
}

export class Connection {
  readonly id: number;
  readonly peer: string;
  secure: boolean;
  lastActivity = Date.now();

  private socket: net.Socket;
  private readonly framer: PduFramer;
  private readonly maxOutstanding: number;
  private readonly inFlight = new Map<number, InFlight>();
  /** Decoded requests waiting behind a bind or StartTLS (RFC 4511 §4.2.1: nothing runs during a bind). */
  private readonly waiting: LdapRequest[] = [];
  private barrier = false;
  private readPaused = false;
  private closing = false;
  private closed = false;
  private shuttingDown = false;
  private readonly drainWaiters = new Set<() => void>();
  private readonly idleWaiters = new Set<() => void>();
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onError = (err: Error): void => this.socketError(err);
  private readonly onClose = (): void => this.socketClosed();
  private readonly onDrain = (): void => this.drained();
  private readonly onEnd = (): void => this.endedByPeer();

  constructor(
    private readonly server: ServerContext,
    socket: net.Socket,
    options: { id: number; peer: string; secure: boolean },
  ) {
    this.id = options.id;
    this.peer = options.peer;
    this.secure = options.secure;
    this.socket = socket;
    this.framer = new PduFramer(server.options.limits.maxPduBytesAnonymous ?? server.options.limits.maxPduBytes);
    this.maxOutstanding = server.options.limits.maxOutstandingPerConnection ?? DEFAULT_MAX_OUTSTANDING;
    this.attach(socket);
  }

  /** Who the connection is bound as; anonymous connections get the smaller PDU limit. */
  get identity(): Identity {
    return this.boundAs;
  }

  set identity(identity: Identity) {
    this.boundAs = identity;
    const limits = this.server.options.limits;
    this.framer.setLimit(identity.dnNorm === '' ? limits.maxPduBytesAnonymous ?? limits.maxPduBytes : limits.maxPduBytes);
  }

  private boundAs: Identity = ANONYMOUS;

  get isClosed(): boolean {
    return this.closed;
  }

  /** Operations started and not finished, plus requests waiting to start. */
  get outstanding(): number {
    return this.inFlight.size + this.waiting.length;
  }

  /** The directory's view of who is asking, for one operation. */
  context(signal?: OperationSignal): OperationContext {
    const ctx: OperationContext = { identity: this.identity, peer: this.peer, secure: this.secure };
    if (signal) ctx.signal = signal.asAbortSignal();
    return ctx;
  }

  /**
   * Writes one encoded PDU; false means the socket buffer is full and the caller should waitDrain().
   * Everything written in one event-loop turn leaves in one writev: the socket is corked at the first
   * write of a turn and uncorked right after the turn's I/O callbacks (setImmediate), so the answers to
   * a pipelined batch of requests cost one syscall instead of one each.
   */
  send(pdu: Buffer): boolean {
    if (this.closed || this.socket.destroyed) return false;
    this.lastActivity = Date.now();
    if (this.turnCorked === null) {
      this.turnCorked = this.socket;
      this.socket.cork();
      setImmediate(this.onTurnEnd);
    }
    const room = this.socket.write(pdu);
    if (!room) this.blockedSince ??= Date.now();
    const limit = this.server.options.limits.maxBufferedOutput ?? DEFAULT_MAX_BUFFERED_OUTPUT;
    if (this.socket.writableLength > limit) {
      this.overflow('output_limit', `more than ${limit} bytes of answers unread by the client`);
      return false;
    }
    // Large answers (a long search) go out as they come, as without the turn's cork: waiting for the
    // end of the turn would only hold memory and change when slow clients see data.
    if (!room) this.flushTurn();
    return room;
  }

  /** Since when the client has not read what we wrote (the socket's buffer is over its high-water mark). */
  private blockedSince: number | undefined;

  /** Bytes written and not yet taken by the kernel (the client does not read). */
  get bufferedOutput(): number {
    return this.closed ? 0 : this.socket.writableLength;
  }

  /** Whether answers have waited for the client longer than `ms`. */
  writeStalled(now: number, ms: number): boolean {
    return !this.closing && this.blockedSince !== undefined && this.socket.writableNeedDrain && now - this.blockedSince >= ms;
  }

  /**
   * Closes a connection whose client does not read its answers (too much buffered, or for too long): logged,
   * counted, and destroyed at once (there is no point in a Notice of Disconnection nobody will read).
   */
  overflow(reason: 'output_limit' | 'output_total_limit' | 'write_timeout', detail: string): void {
    if (this.closing) return;
    this.server.logger.warn({ conn: this.id, peer: this.peer, reason, detail, buffered: this.bufferedOutput }, 'ldap: client does not read its answers, disconnecting');
    this.server.observer?.onProtocolError?.(reason);
    this.destroy(reason);
  }

  /** The socket corked by send() for the current turn, until flushTurn(). */
  private turnCorked: net.Socket | null = null;
  private readonly onTurnEnd = (): void => this.flushTurn();

  private flushTurn(): void {
    const socket = this.turnCorked;
    if (socket === null) return;
    this.turnCorked = null;
    if (!socket.destroyed) socket.uncork();
  }

  /** Resolves when the socket can take more data, when it closed, or when `signal` aborts (abandon). */
  waitDrain(signal?: OperationSignal): Promise<void> {
    if (this.closed || this.socket.destroyed || !this.socket.writableNeedDrain || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        this.drainWaiters.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      this.drainWaiters.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  cork(): void {
    if (!this.closed) this.socket.cork();
  }

  uncork(): void {
    if (!this.closed) this.socket.uncork();
  }

  // ---- reading and scheduling -------------------------------------------------------------------------

  private attach(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    socket.on('end', this.onEnd);
  }

  private detach(socket: net.Socket): void {
    socket.off('data', this.onData);
    socket.off('error', this.onError);
    socket.off('close', this.onClose);
    socket.off('drain', this.onDrain);
    socket.off('end', this.onEnd);
  }

  private receive(chunk: Buffer): void {
    if (this.closing) return;
    this.lastActivity = Date.now();
    this.framer.push(chunk);
    this.pullRequests();
  }

  /** Takes complete PDUs off the framer while fewer than maxOutstanding requests are pending. */
  private pullRequests(): void {
    try {
      while (!this.closing && !this.shuttingDown && this.outstanding < this.maxOutstanding) {
        const pdu = this.framer.next();
        if (pdu === undefined) break;
        let request: LdapRequest;
        try {
          request = decodeRequest(pdu);
        } catch (err) {
          if (err instanceof DecodeError) {
            this.protocolError('malformed_pdu', err.message, err.internal);
            return;
          }
          throw err;
        }
        this.accept(request);
      }
    } catch (err) {
      if (err instanceof FramingError) {
        this.protocolError(err.reason === 'tooLarge' ? 'pdu_too_large' : 'not_ldap', err.message);
        return;
      }
      this.server.logger.error({ conn: this.id, peer: this.peer, err }, 'ldap: unexpected error reading a request');
      this.destroy('internal error');
      return;
    }
    this.updateReading();
  }

  /** Pauses the socket while the pending request budget is spent (backpressure instead of memory). */
  private updateReading(): void {
    if (this.closed) return;
    const shouldPause = this.shuttingDown || this.outstanding >= this.maxOutstanding;
    if (shouldPause && !this.readPaused) {
      this.readPaused = true;
      this.socket.pause();
    } else if (!shouldPause && this.readPaused) {
      this.readPaused = false;
      this.socket.resume();
    }
  }

  private accept(request: LdapRequest): void {
    switch (request.op) {
      case 'abandon':
        // No response, ever (RFC 4511 §4.11); it may overtake requests waiting behind a bind.
        this.abandon(request.abandonId);
        return;
      case 'unbind':
        this.server.logger.debug({ conn: this.id, peer: this.peer }, 'ldap: unbind');
        this.end('unbind');
        return;
      default:
        this.waiting.push(request);
        this.startWaiting();
    }
  }

  private abandon(messageId: number): void {
    const running = this.inFlight.get(messageId);
    if (running) {
      running.signal.abort('abandoned');
      return;
    }
    const index = this.waiting.findIndex((request) => request.messageId === messageId);
    if (index >= 0) this.waiting.splice(index, 1);
  }

  /**
   * Starts waiting requests in order. Nothing new starts while our answers back up unread (a client that
   * pipelines and never reads must not make us buffer without bound); requests keep being read up to
   * maxOutstanding meanwhile, so an abandon or unbind still gets through.
   */
  private startWaiting(holdSearches = false): void {
    while (!this.barrier && !this.closing && this.waiting.length > 0 && !this.socket.writableNeedDrain) {
      // A search waiting for the client to read (drainWaiters) holds its rows: no other search starts beside it,
      // or a client pipelining searches it never reads would make each hold its own (measured: 60 such clients
      // took the workers from 230 MiB to 1.2 GiB before they were closed).
      if ((this.drainWaiters.size > 0 || holdSearches) && this.waiting[0]!.op === 'search') break;
      const request = this.waiting.shift() as LdapRequest;
      const exclusive = request.op === 'bind' || (request.op === 'extended' && request.oid === START_TLS_OID);
      if (exclusive && this.inFlight.size > 0 && request.op === 'bind') {
        // A bind waits for what is already running, so no operation sees the identity change mid-way.
        this.waiting.unshift(request);
        this.barrier = true;
        void this.whenIdle().then(() => {
          this.barrier = false;
          this.startWaiting();
        });
        return;
      }
      if (exclusive) this.barrier = true;
      this.run(request, exclusive);
    }
  }

  private run(request: LdapRequest, exclusive: boolean): void {
    const signal = new OperationSignal();
    if (this.inFlight.has(request.messageId)) {
      // A messageID still in use is a client bug; answer it anyway, but abandon targets the newest one.
      this.server.logger.debug({ conn: this.id, messageId: request.messageId }, 'ldap: duplicate messageID in flight');
    }
    const entry: InFlight = { request, signal };
    this.inFlight.set(request.messageId, entry);
    dispatch(this.server, this, request, signal)
      .catch((err: unknown) => {
        this.server.logger.error({ conn: this.id, peer: this.peer, op: request.op, err }, 'ldap: operation failed unexpectedly');
      })
      .finally(() => {
        if (this.inFlight.get(request.messageId) === entry) this.inFlight.delete(request.messageId);
        if (exclusive) this.barrier = false;
        if (this.inFlight.size === 0) for (const wake of [...this.idleWaiters]) wake();
        if (!this.closing) {
          this.startWaiting();
          this.pullRequests();
        }
      });
  }

  private whenIdle(): Promise<void> {
    if (this.inFlight.size === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        this.idleWaiters.delete(wake);
        resolve();
      };
      this.idleWaiters.add(wake);
    });
  }

  /** Operations other than `exceptMessageId` that are running or waiting (StartTLS needs none). */
  othersOutstanding(exceptMessageId: number): number {
    let count = this.waiting.length;
    for (const id of this.inFlight.keys()) if (id !== exceptMessageId) count++;
    return count;
  }

  // ---- StartTLS -------------------------------------------------------------------------------------------

  /**
   * Called right after the StartTLS success response was written: from now on the bytes on this socket
   * are TLS. Swapping synchronously, before the event loop turns, means the client's ClientHello can only
   * reach the TLS socket.
   */
  upgradeToTls(secureContext: tls.SecureContext): void {
    const plain = this.socket;
    // The StartTLS response must reach the wire in plaintext, before any TLS byte.
    this.flushTurn();
    this.detach(plain);
    // Plaintext pipelined behind the StartTLS request must not run as if it came over TLS (the STARTTLS
    // command injection of CVE-2011-0411 in mail servers): drop it, and anything queued.
    const dropped = this.framer.clear() + this.waiting.length;
    this.waiting.length = 0;
    if (dropped > 0) {
      this.server.logger.warn({ conn: this.id, peer: this.peer, dropped }, 'ldap: data sent before the StartTLS response was dropped');
    }
    const secured = new tls.TLSSocket(plain, { isServer: true, secureContext });
    // Until the handshake finishes, errors are reported as TLS failures.
    secured.once('secure', () => this.server.logger.debug({ conn: this.id, peer: this.peer }, 'ldap: StartTLS handshake done'));
    this.socket = secured;
    this.secure = true;
    this.attach(secured);
    if (this.readPaused) secured.pause();
  }

  // ---- closing ----------------------------------------------------------------------------------------------

  /**
   * RFC 4511 §4.4.1: tell the client why, then close. The server keeps serving everyone else. `detail` is
   * our own fixed text and goes to the client; `internal` (a library's or the runtime's message) only to the log.
   */
  protocolError(reason: string, detail: string, internal?: string): void {
    if (this.closing) return;
    this.server.logger.warn({ conn: this.id, peer: this.peer, reason, detail, internal }, 'ldap: protocol error, disconnecting');
    this.server.observer?.onProtocolError?.(reason);
    try {
      this.socket.write(encodeNoticeOfDisconnection(ResultCode.protocolError, `${reason}: ${detail}`));
    } catch {
      // the socket is already gone; closing below is all that is left to do
    }
    this.end(reason);
  }

  /** Graceful close: stop reading, abort what runs, flush what was written, then close. */
  end(reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.closeReason = reason;
    this.abortAll('disconnected');
    this.waiting.length = 0;
    try {
      this.socket.end();
    } catch {
      // ignore: destroy below
    }
    // A peer that never reads would keep the socket half-open forever.
    setTimeout(() => this.destroy(reason), 2000).unref();
  }

  destroy(reason: string): void {
    if (!this.closing) {
      this.closing = true;
      this.closeReason = reason;
    }
    this.abortAll('disconnected');
    this.socket.destroy();
  }

  /** Shutdown: stop taking requests, let running ones finish (within graceMs), then close. */
  async shutdown(graceMs: number): Promise<void> {
    this.shuttingDown = true;
    this.waiting.length = 0;
    this.updateReading();
    if (this.inFlight.size > 0) {
      await Promise.race([this.whenIdle(), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    }
    if (this.closed) return;
    const closedPromise = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    // RFC 4511 §4.4.1: tell the client why before closing.
    try {
      this.socket.write(encodeNoticeOfDisconnection(ResultCode.unavailable, 'server shutting down'));
    } catch {
      // gone already
    }
    this.end('server shutdown');
    await closedPromise;
  }

  /** Idle when nothing runs or waits and no byte moved for idleMs. */
  isIdle(now: number, idleMs: number): boolean {
    return !this.closing && this.outstanding === 0 && now - this.lastActivity >= idleMs;
  }

  private closeReason = '';

  private abortAll(reason: AbortReason): void {
    for (const { signal } of this.inFlight.values()) signal.abort(reason);
  }

  private drained(): void {
    this.blockedSince = undefined;
    this.wakeDrainWaiters();
    if (this.closing) return;
    // Other operations start now, as before; a waiting search only once the woken ones have written (their
    // continuations run before this immediate) and left the socket with room.
    this.startWaiting(true);
    setImmediate(this.afterDrain);
  }

  private readonly afterDrain = (): void => {
    if (this.closing) return;
    this.startWaiting();
    this.pullRequests();
  };

  private wakeDrainWaiters(): void {
    const waiters = [...this.drainWaiters];
    this.drainWaiters.clear();
    for (const wake of waiters) wake();
  }

  /** Logged once, when the client is found gone while operations still run (they are stopped next). */
  private noteClientGone(cause: string): void {
    if (this.goneLogged || this.inFlight.size === 0) return;
    this.goneLogged = true;
    const ops = [...this.inFlight.values()].map(({ request }) => request.op);
    this.server.logger.info({ conn: this.id, peer: this.peer, ops, cause }, 'ldap: client gone with operations in flight; stopping them');
  }

  private goneLogged = false;

  private endedByPeer(): void {
    this.noteClientGone('end of stream');
    // The client half-closed (or closed): there is nobody to answer. A truncated PDU left in the framer
    // is dropped silently, as slapd does.
    if (this.framer.pendingBytes > 0) {
      this.server.logger.debug({ conn: this.id, peer: this.peer, bytes: this.framer.pendingBytes }, 'ldap: client closed with a partial PDU');
    }
    this.end(this.closeReason || 'client closed');
  }

  private socketError(err: Error & { code?: string }): void {
    const expected = err.code === 'ECONNRESET' || err.code === 'EPIPE';
    this.noteClientGone(err.code ?? err.message);
    if (this.socket instanceof tls.TLSSocket && !expected) {
      this.server.observer?.onProtocolError?.('tls');
    }
    this.server.logger[expected ? 'debug' : 'warn']({ conn: this.id, peer: this.peer, err: err.message, code: err.code }, 'ldap: socket error');
    this.destroy(this.closeReason || `socket error ${err.code ?? err.message}`);
  }

  private socketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.shuttingDown) this.noteClientGone('socket closed');
    this.abortAll('disconnected');
    this.wakeDrainWaiters();
    for (const wake of [...this.idleWaiters]) wake();
    this.server.connectionClosed(this, this.closeReason || 'client closed');
  }
}

export const START_TLS_OID = '1.3.6.1.4.1.1466.20037';
