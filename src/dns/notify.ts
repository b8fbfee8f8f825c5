// NOTIFY (RFC 1996): tell secondaries a zone's serial changed, retrying with backoff until they acknowledge.

import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { writeRecord } from './rdata';
import { signRequest, type TsigKey } from './tsig';
import { Opcode, RRType, SoaData } from './types';
import { WireWriter, writeHeader } from './wire';

export interface NotifyTarget {
  host: string;
  port: number;
}

/** "192.0.2.1", "192.0.2.1:5300", "[2001:db8::1]:53", "2001:db8::1". */
export function parseTarget(text: string): NotifyTarget {
  const t = text.trim();
  const bracket = t.match(/^\[([^\]]+)\](?::(\d+))?$/);
  if (bracket) return { host: bracket[1], port: bracket[2] ? Number(bracket[2]) : 53 };
  if (isIPv6(t)) return { host: t, port: 53 };
  const m = t.match(/^([^:]+)(?::(\d+))?$/);
  if (!m) throw new Error(`bad notify target "${text}"`);
  return { host: m[1], port: m[2] ? Number(m[2]) : 53 };
}

/**
 * BIND's `notify` statement: yes = the zone's NS hosts (other than the SOA primary) and the configured
 * targets (also-notify), explicit = only the configured targets, no = nobody.
 */
export type NotifyMode = 'yes' | 'explicit' | 'no';

/** Whom to NOTIFY for one zone change; the NS hosts are only looked up in mode yes. */
export function notifyTargetsFor(mode: NotifyMode, configured: NotifyTarget[], nsHosts: () => NotifyTarget[]): NotifyTarget[] {
  if (mode === 'no') return [];
  return mode === 'yes' ? [...configured, ...nsHosts()] : configured;
}

export interface NotifyLogger {
  info?(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
}

interface Pending {
  zone: string;
  serial: number;
  target: NotifyTarget;
  id: number;
  attempt: number;
  timer?: NodeJS.Timeout;
  message: Buffer;
}

export interface NotifierOptions {
  logger?: NotifyLogger;
  /** First retry after this many ms; doubles each time up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this many sends (RFC 1996 §3.6 suggests a handful; "until acknowledged" within reason). */
  maxAttempts?: number;
  /** At most this many NOTIFY messages per second (BIND's notify-rate): thousands of zones start at once. */
  ratePerSecond?: number;
  /** TSIG key every NOTIFY is signed with (RFC 8945; the secondary's allow-notify names it). */
  key?: TsigKey;
  onAcknowledged?(zone: string, serial: number, target: NotifyTarget): void;
  onGiveUp?(zone: string, serial: number, target: NotifyTarget): void;
}

export function encodeNotify(id: number, zone: string, soa: SoaData, soaTtl: number): Buffer {
  const w = new WireWriter(256);
  writeHeader(w, id, Opcode.NOTIFY, true, false, false, 0, 1, 1, 0, 0);
  w.buf[2] &= 0x7f; // a request: QR=0
  w.name(zone);
  w.u16(RRType.SOA);
  w.u16(1);
  writeRecord(w, zone, soaTtl, soa);
  return w.toBuffer();
}

export class Notifier {
  private readonly pending = new Map<string, Pending>();
  private sockets: { v4?: dgram.Socket; v6?: dgram.Socket } = {};
  private closed = false;
  private readonly opts: Required<Pick<NotifierOptions, 'initialDelayMs' | 'maxDelayMs' | 'maxAttempts' | 'ratePerSecond'>> & NotifierOptions;
  /** Sends waiting for the rate limit, oldest first. */
  private readonly queue: Array<{ key: string; p: Pending }> = [];
  private windowStart = 0;
  private sentInWindow = 0;
  private drainTimer?: NodeJS.Timeout;

  constructor(opts: NotifierOptions = {}) {
    this.opts = {
      ...opts,
      initialDelayMs: opts.initialDelayMs ?? 1000,
      maxDelayMs: opts.maxDelayMs ?? 60000,
      maxAttempts: opts.maxAttempts ?? 10,
      ratePerSecond: opts.ratePerSecond ?? 100,
    };
  }

  private socket(v6: boolean): dgram.Socket {
    const key = v6 ? 'v6' : 'v4';
    let s = this.sockets[key];
    if (!s) {
      s = dgram.createSocket(v6 ? 'udp6' : 'udp4');
      s.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
      s.on('error', (err) => this.opts.logger?.warn?.({ err: err.message }, 'notify socket error'));
      s.unref();
      this.sockets[key] = s;
    }
    return s;
  }

  /** Starts (or restarts, for a newer serial) notifying every target of the zone. */
  notify(zone: string, soa: SoaData, soaTtl: number, targets: NotifyTarget[]): void {
    if (this.closed) return;
    for (const target of targets) {
      const key = `${zone}|${target.host}|${target.port}`;
      const old = this.pending.get(key);
      if (old?.timer) clearTimeout(old.timer);
      const id = randomInt(0x10000);
      const plain = encodeNotify(id, zone, soa, soaTtl);
      const message = this.opts.key ? signRequest(plain, this.opts.key, Math.floor(Date.now() / 1000)) : plain;
      const p: Pending = { zone, serial: soa.serial, target, id, attempt: 0, message };
      this.pending.set(key, p);
      this.send(key, p);
    }
  }

  private send(key: string, p: Pending): void {
    if (this.closed || this.pending.get(key) !== p) return;
    if (p.attempt >= this.opts.maxAttempts) {
      this.opts.logger?.warn?.({ zone: p.zone, serial: p.serial, target: `${p.target.host}:${p.target.port}` }, 'NOTIFY not acknowledged, giving up');
      this.pending.delete(key);
      this.opts.onGiveUp?.(p.zone, p.serial, p.target);
      return;
    }
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.sentInWindow = 0;
    }
    if (this.sentInWindow >= this.opts.ratePerSecond || this.queue.length > 0) {
      this.queue.push({ key, p });
      this.drainTimer ??= setTimeout(() => this.drain(), this.windowStart + 1000 - now).unref();
      return;
    }
    this.sentInWindow++;
    p.attempt++;
    this.socket(isIPv6(p.target.host)).send(p.message, p.target.port, p.target.host, () => undefined);
    const delay = Math.min(this.opts.initialDelayMs * 2 ** (p.attempt - 1), this.opts.maxDelayMs);
    p.timer = setTimeout(() => this.send(key, p), delay);
    p.timer.unref();
  }

  private drain(): void {
    this.drainTimer = undefined;
    const waiting = this.queue.splice(0, this.queue.length);
    for (const { key, p } of waiting) this.send(key, p);
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < 12) return;
    const id = msg.readUInt16BE(0);
    const flags = msg.readUInt16BE(2);
    if (!(flags & 0x8000) || ((flags >> 11) & 0xf) !== Opcode.NOTIFY) return;
    for (const [key, p] of this.pending) {
      if (p.id !== id || p.target.port !== rinfo.port || !sameHost(p.target.host, rinfo.address)) continue;
      if (p.timer) clearTimeout(p.timer);
      this.pending.delete(key);
      const rcode = flags & 0xf;
      if (rcode === 0) this.opts.onAcknowledged?.(p.zone, p.serial, p.target);
      this.opts.logger?.info?.({ zone: p.zone, serial: p.serial, target: `${p.target.host}:${p.target.port}`, rcode }, 'NOTIFY answered');
      return;
    }
  }

  /** Zones/targets still waiting for an acknowledgement (for tests and metrics). */
  outstanding(): number {
    return this.pending.size;
  }

  close(): void {
    this.closed = true;
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.queue.length = 0;
    for (const p of this.pending.values()) if (p.timer) clearTimeout(p.timer);
    this.pending.clear();
    this.sockets.v4?.close();
    this.sockets.v6?.close();
    this.sockets = {};
  }
}

function sameHost(a: string, b: string): boolean {
  const strip = (s: string) => s.replace(/^::ffff:/, '').toLowerCase();
  return strip(a) === strip(b) || (a === 'localhost' && (b === '127.0.0.1' || b === '::1'));
}
