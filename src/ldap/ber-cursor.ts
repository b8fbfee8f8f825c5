// A strict reader over @ldapjs/asn1's BerReader. BerReader answers a truncated field with null, throws
// its own texts ("Expected 0x04: got 0x30") or crashes with a TypeError ("Cannot read properties of null
// (reading 'length')" for an INTEGER whose length runs past the PDU); the request decoders need "this PDU is
// malformed" as one thrown error in our own words instead, and nested lengths checked against the enclosing PDU.

import { asn1, type BerReader } from './ldapjs';

/**
 * A malformed request, described in our own fixed words: the one kind of decoding error whose message may be
 * sent to the client (as a diagnosticMessage). Anything else thrown while decoding is an internal text and
 * is only logged (issue 13: JavaScript error text reached fuzzing clients).
 */
export class RequestSyntaxError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RequestSyntaxError';
  }
}

/** Runs one BerReader call; what it throws becomes `what` in our words (its own text kept as the cause, for the log). */
function guarded<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new RequestSyntaxError(what, { cause: err });
  }
}

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
    const found = guarded('malformed BER element', () => this.reader.readSequence(tag));
    if (found === null) throw new RequestSyntaxError('truncated BER element');
    const end = this.reader.offset + this.reader.length;
    if (end > this.size) throw new RequestSyntaxError('BER element longer than its container');
    return end;
  }

  string(tag = 0x04): string {
    const value = guarded('malformed BER string', () => this.reader.readString(tag));
    if (value === null) throw new RequestSyntaxError('truncated BER string');
    return value;
  }

  bytes(tag = 0x04): Buffer {
    const value = guarded('malformed BER string', () => this.reader.readString(tag, true));
    if (value === null) throw new RequestSyntaxError('truncated BER string');
    return value;
  }

  integer(tag = 0x02): number {
    const value = guarded('malformed BER integer', () => this.reader.readInt(tag));
    if (!Number.isFinite(value)) throw new RequestSyntaxError('bad BER integer');
    return value;
  }

  enumeration(): number {
    return this.integer(0x0a);
  }

  boolean(tag = 0x01): boolean {
    return guarded('malformed BER boolean', () => this.reader.readBoolean(tag));
  }

  /** Skips one whole element (any tag). */
  skip(): void {
    const tag = this.reader.peek();
    if (tag === null) throw new RequestSyntaxError('truncated BER element');
    const end = this.enter(tag);
    this.reader.setOffset(end);
  }

  expectAt(end: number): void {
    if (this.reader.offset !== end) throw new RequestSyntaxError('BER element length does not match its contents');
  }
}
