// A strict reader over @ldapjs/asn1's BerReader. BerReader answers a truncated field with null (or
// crashes on a missing tag with a TypeError); the request decoders need "this PDU is malformed" as one
// thrown error instead, and nested lengths checked against the enclosing PDU.

import { asn1, type BerReader } from './ldapjs';

export class BerCursor {
  readonly reader: BerReader;

  constructor(buffer: Buffer) {
    this.reader = new asn1.BerReader(buffer);
  }

  get offset(): number {
    return this.reader.offset;
  }

  get size(): number {
    return this.reader.buffer.length;
  }

  peek(): number | null {
    return this.reader.peek();
  }

  /** Enters a constructed element with `tag`; returns the offset where it ends. */
  enter(tag?: number): number {
    const found = this.reader.readSequence(tag);
    if (found === null) throw new Error('truncated BER element');
    const end = this.reader.offset + this.reader.length;
    if (end > this.size) throw new Error('BER element longer than its container');
    return end;
  }

  string(tag = 0x04): string {
    const value = this.reader.readString(tag);
    if (value === null) throw new Error('truncated BER string');
    return value;
  }

  bytes(tag = 0x04): Buffer {
    const value = this.reader.readString(tag, true);
    if (value === null) throw new Error('truncated BER string');
    return value;
  }

  integer(tag = 0x02): number {
    const value = this.reader.readInt(tag);
    if (!Number.isFinite(value)) throw new Error('bad BER integer');
    return value;
  }

  enumeration(): number {
    return this.integer(0x0a);
  }

  boolean(tag = 0x01): boolean {
    return this.reader.readBoolean(tag);
  }

  /** Skips one whole element (any tag). */
  skip(): void {
    const tag = this.reader.peek();
    if (tag === null) throw new Error('truncated BER element');
    const end = this.enter(tag);
    this.reader.setOffset(end);
  }

  expectAt(end: number): void {
    if (this.reader.offset !== end) throw new Error('BER element length does not match its contents');
  }
}
