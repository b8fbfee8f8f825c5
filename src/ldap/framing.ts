// Splits a TCP byte stream into LDAPMessage PDUs. The BER header (tag + length) is read from the
// buffered bytes first and the announced length is checked against the limit before any of the body
// is kept, so a hostile 100 MB length prefix costs nothing but the header bytes.

/** Why the stream cannot be framed; the connection answers with a Notice of Disconnection and closes. */
export class FramingError extends Error {
  constructor(readonly reason: 'tooLarge' | 'malformed', message: string) {
    super(message);
    this.name = 'FramingError';
  }
}

/** An LDAPMessage is a universal constructed SEQUENCE. */
const SEQUENCE_TAG = 0x30;

export class PduFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Total size (header + body) of the PDU at the head of the buffer, once its header has been read. */
  private expected = -1;

  constructor(private maxPduBytes: number) {}

  /** The limit for PDUs whose header is read from now on (a bind raises it, slapd's sockbuf_max_incoming_auth). */
  setLimit(maxPduBytes: number): void {
    this.maxPduBytes = maxPduBytes;
  }

  /** Bytes held for an incomplete PDU (for tests and diagnostics). */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Drops everything buffered (StartTLS: bytes sent before the handshake must never be executed). */
  clear(): number {
    const dropped = this.buffered;
    this.chunks = [];
    this.buffered = 0;
    this.expected = -1;
    return dropped;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next complete PDU, or undefined when more bytes are needed. Throws FramingError when the
   * stream is not LDAP or announces a PDU over the limit.
   */
  next(): Buffer | undefined {
    if (this.expected < 0) {
      const header = this.readHeader();
      if (header === undefined) return undefined;
      this.expected = header;
    }
    if (this.buffered < this.expected) return undefined;
    const pdu = this.take(this.expected);
    this.expected = -1;
    return pdu;
  }

  /** Header length + body length, or undefined while the header itself is incomplete. */
  private readHeader(): number | undefined {
    if (this.buffered < 2) return undefined;
    const head = this.peek(Math.min(this.buffered, 6));
    if (head[0] !== SEQUENCE_TAG) {
      throw new FramingError('malformed', `not an LDAPMessage: tag 0x${head[0].toString(16).padStart(2, '0')}`);
    }
    const first = head[1];
    let bodyLength: number;
    let headerLength: number;
    if ((first & 0x80) === 0) {
      bodyLength = first;
      headerLength = 2;
    } else {
      const lengthBytes = first & 0x7f;
      // RFC 4511 §5.1 forbids the indefinite form; more than 4 length octets cannot be a sane PDU.
      if (lengthBytes === 0) throw new FramingError('malformed', 'indefinite BER length');
      if (lengthBytes > 4) throw new FramingError('tooLarge', `BER length of ${lengthBytes} octets`);
      if (head.length < 2 + lengthBytes) return undefined;
      bodyLength = 0;
      for (let i = 0; i < lengthBytes; i++) bodyLength = bodyLength * 256 + head[2 + i];
      headerLength = 2 + lengthBytes;
    }
    const total = headerLength + bodyLength;
    if (total > this.maxPduBytes) {
      throw new FramingError('tooLarge', `PDU of ${total} bytes exceeds the limit of ${this.maxPduBytes}`);
    }
    return total;
  }

  /** The first n buffered bytes without consuming them (n is small: header only). */
  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0];
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    for (const chunk of this.chunks) {
      const count = Math.min(chunk.length, n - offset);
      chunk.copy(out, offset, 0, count);
      offset += count;
      if (offset === n) break;
    }
    return out;
  }

  /** Removes and returns the first n buffered bytes; copies only when a PDU spans chunks. */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first.length >= n) {
      const pdu = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return pdu;
    }
    const pdu = Buffer.allocUnsafe(n);
    let offset = 0;
    while (offset < n) {
      const chunk = this.chunks[0];
      const count = Math.min(chunk.length, n - offset);
      chunk.copy(pdu, offset, 0, count);
      offset += count;
      if (count === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(count);
    }
    this.buffered -= n;
    return pdu;
  }
}
