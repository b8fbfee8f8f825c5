// DNS over TCP: 2-octet length framing (RFC 1035 §4.2.2), pipelining, and the limits that keep one client
// from holding the listener. The engine answers; this file only moves bytes and decides who may stay.
//
// An idle timer alone does not bound a connection: a client that dribbles one byte of a length prefix every
// few seconds re-arms it forever, and 600 such connections from one address took every slot. So, as NSD does
// (tcp-count, tcp-timeout, and its short timeout once more than half of tcp-count is in use):
// - a message that has begun must be complete within `messageMs`, however the bytes trickle in;
// - one address (an IPv6 /64) holds at most `maxPerAddress` connections; the next is closed at once;
// - all addresses together hold at most `maxConnections`;
// - while more than half of `maxConnections` are open, a connection that is not in the middle of a message
//   is closed after `busyIdleMs` instead of `idleMs` (RFC 7766 §6.2.3: servers may shorten timeouts under load).

import net from 'node:net';
import type { Transport } from './engine';

export type TcpCloseReason = 'perAddressLimit' | 'connectionLimit' | 'messageDeadline' | 'idle' | 'badFrame' | 'failed';

export interface DnsTcpLimits {
  /** Close a connection with nothing moving for this long (RFC 7766 §6.2.3). */
  idleMs: number;
  /** A message whose first byte arrived must be complete within this time. */
  messageMs: number;
  maxConnections: number;
  /** 0 = no per-address limit. */
  maxPerAddress: number;
  /** The idle timeout while more than half of maxConnections are open. */
  busyIdleMs: number;
}

export interface DnsTcpOptions {
  /** Answers one message: the response messages, or null to send nothing. Throwing closes the connection. */
  handle(msg: Buffer, transport: Transport, peer: string): Buffer[] | null;
  limits: DnsTcpLimits;
  onClosed?(reason: TcpCloseReason, peer: string): void;
  onError?(err: unknown, peer: string): void;
}

/** Bytes of unread answers after which a client that does not read stops being read. */
const WRITE_HIGH_WATER = 1 << 20;

/** The key connections are counted under: the address, or its /64 for IPv6 (one host usually holds a /64). */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (!address.includes(':')) return address;
  const [head, tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':') + '::/64';
}

export class DnsTcpServer {
  readonly server: net.Server;
  private readonly connections = new Set<net.Socket>();
  private readonly perAddress = new Map<string, number>();
  /** Connections not in the middle of a message: the ones the busy timeout applies to. */
  private readonly waiting = new Set<Conn>();
  private busy = false;

  constructor(private readonly opts: DnsTcpOptions) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  get size(): number {
    return this.connections.size;
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', reject);
        resolve();
      });
    });
  }

  /** Stops listening and destroys open connections (an idle client must not hold shutdown up). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.connections) s.destroy();
    });
  }

  private accept(socket: net.Socket): void {
    const peer = socket.remoteAddress ?? '';
    const limits = this.opts.limits;
    // Accepted and closed at once (NSD's tcp-reject-overflow): a client told "no" retries elsewhere
    // instead of waiting in the backlog.
    if (this.connections.size >= limits.maxConnections) return this.refuse(socket, 'connectionLimit', peer);
    const key = addressKey(peer);
    const held = this.perAddress.get(key) ?? 0;
    if (limits.maxPerAddress > 0 && held >= limits.maxPerAddress) return this.refuse(socket, 'perAddressLimit', peer);
    this.perAddress.set(key, held + 1);
    this.connections.add(socket);
    const conn = new Conn(socket, peer, this);
    socket.on('close', () => {
      this.connections.delete(socket);
      this.waiting.delete(conn);
      const n = (this.perAddress.get(key) ?? 1) - 1;
      if (n > 0) this.perAddress.set(key, n);
      else this.perAddress.delete(key);
      this.updateBusy();
    });
    this.waiting.add(conn);
    this.updateBusy();
    conn.armIdle();
  }

  private refuse(socket: net.Socket, reason: TcpCloseReason, peer: string): void {
    socket.on('error', () => undefined);
    socket.destroy();
    this.opts.onClosed?.(reason, peer);
  }

  /** Entering busy mode shortens the idle timer of every connection that waits between messages. */
  private updateBusy(): void {
    const busy = this.connections.size > this.opts.limits.maxConnections / 2;
    if (busy === this.busy) return;
    this.busy = busy;
    for (const conn of this.waiting) conn.armIdle();
  }

  /** @internal for Conn */
  idleMs(): number {
    return this.busy ? Math.min(this.opts.limits.busyIdleMs, this.opts.limits.idleMs) : this.opts.limits.idleMs;
  }

  /** @internal for Conn */
  setWaiting(conn: Conn, waiting: boolean): void {
    if (waiting) this.waiting.add(conn);
    else this.waiting.delete(conn);
  }

  /** @internal for Conn */
  get options(): DnsTcpOptions {
    return this.opts;
  }
}

/** One connection: framing, the message deadline, answers with backpressure. */
class Conn {
  private pending: Buffer = Buffer.alloc(0);
  private deadline: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly peer: string,
    private readonly owner: DnsTcpServer,
  ) {
    socket.setNoDelay(true);
    socket.on('timeout', () => this.close('idle'));
    socket.on('error', () => this.close('failed', false));
    socket.on('close', () => this.clearDeadline());
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  armIdle(): void {
    if (!this.closed) this.socket.setTimeout(this.owner.idleMs());
  }

  private close(reason: TcpCloseReason, report = true): void {
    if (this.closed) return;
    this.closed = true;
    this.clearDeadline();
    this.socket.destroy();
    if (report) this.owner.options.onClosed?.(reason, this.peer);
  }

  private clearDeadline(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let answered = false;
    while (this.pending.length >= 2) {
      const len = this.pending.readUInt16BE(0);
      if (len < 12) {
        // Not a DNS message: the stream cannot be re-synchronized.
        this.close('badFrame');
        return;
      }
      if (this.pending.length < 2 + len) break;
      const msg = this.pending.subarray(2, 2 + len);
      this.pending = this.pending.subarray(2 + len);
      answered = true;
      let out: Buffer[] | null;
      try {
        out = this.owner.options.handle(msg, 'tcp', this.peer);
      } catch (err) {
        this.owner.options.onError?.(err, this.peer);
        this.close('failed');
        return;
      }
      if (out) this.write(out);
    }
    if (this.pending.length === 0) {
      // Between messages: the idle timer (short when busy) decides.
      this.clearDeadline();
      this.owner.setWaiting(this, true);
      this.armIdle();
    } else if (answered || this.deadline === null) {
      // A message has begun: it has messageMs to arrive, whatever each byte does to the idle timer.
      this.clearDeadline();
      this.owner.setWaiting(this, false);
      this.deadline = setTimeout(() => this.close('messageDeadline'), this.owner.options.limits.messageMs);
      this.deadline.unref();
    }
  }

  private write(messages: Buffer[]): void {
    for (const m of messages) {
      const frame = Buffer.allocUnsafe(2 + m.length);
      frame.writeUInt16BE(m.length, 0);
      m.copy(frame, 2);
      this.socket.write(frame);
    }
    // Backpressure: a client that does not read its answers stops being read.
    if (this.socket.writableLength > WRITE_HIGH_WATER && !this.socket.isPaused()) {
      this.socket.pause();
      this.socket.once('drain', () => this.socket.resume());
    }
  }
}
