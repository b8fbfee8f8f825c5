// Encoded answers by question, found from the query's bytes without building a string per packet.
//
// A cached answer is reused for every query with the same question name (ASCII and Latin-1 letters folded,
// as the lookup folds them), type, class and response shape (EDNS or not, DO bit, size limit); the caller
// patches in the query's ID, RD/CD bits and its own spelling of the question (response.ts personalize).
// Hashing the folded name bytes and comparing them in place costs a fraction of making a lower-case key string
// (two string copies, a concatenation and its hashing per packet, measured: a third of a cache hit's time).

export interface CachedAnswer {
  /** The question name as lower-case wire labels. */
  readonly name: Uint8Array;
  readonly qtype: number;
  readonly qclass: number;
  /** Response shape: size limit | EDNS (bit 16) | DO (bit 17). */
  readonly shape: number;
  /** The question name in dotted lower-case form (for query events). */
  readonly qname: string;
  readonly message: Buffer;
  /** Another answer whose key hashes the same (rare). */
  next?: CachedAnswer;
}

/** Response shape bits for the cache key. */
export function answerShape(maxSize: number, edns: boolean, dnssecOk: boolean): number {
  return maxSize | (edns ? 0x10000 : 0) | (dnssecOk ? 0x20000 : 0);
}

/** ASCII A-Z and Latin-1 À-Þ (but ×) to lower case: what String#toLowerCase does to a latin1-decoded name. */
function fold(b: number): number {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0xc0 && b <= 0xde && b !== 0xd7) ? b | 0x20 : b;
}

export class AnswerCache {
  private readonly buckets = new Map<number, CachedAnswer>();
  private entries = 0;

  /** At most `capacity` answers; past it the oldest bucket goes first. */
  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.entries;
  }

  /** The answer for the question name at buf[start, end) (labels, checked by the parser), or undefined. */
  get(buf: Buffer, start: number, end: number, qtype: number, qclass: number, shape: number): CachedAnswer | undefined {
    for (let a = this.buckets.get(hashKey(buf, start, end, qtype, qclass, shape)); a; a = a.next) {
      if (a.qtype !== qtype || a.qclass !== qclass || a.shape !== shape || a.name.length !== end - start) continue;
      let same = true;
      for (let i = 0; i < a.name.length; i++) {
        if (a.name[i] !== fold(buf[start + i])) {
          same = false;
          break;
        }
      }
      if (same) return a;
    }
    return undefined;
  }

  set(buf: Buffer, start: number, end: number, qtype: number, qclass: number, shape: number, qname: string, message: Buffer): void {
    if (this.entries >= this.capacity) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) {
        for (let a = this.buckets.get(oldest.value); a; a = a.next) this.entries--;
        this.buckets.delete(oldest.value);
      }
    }
    const name = new Uint8Array(end - start);
    for (let i = 0; i < name.length; i++) name[i] = fold(buf[start + i]);
    const key = hashKey(buf, start, end, qtype, qclass, shape);
    const head = this.buckets.get(key);
    // A repeated set for the same question (two misses racing on TCP and UDP) replaces nothing: keep the first.
    for (let a = head; a; a = a.next) if (a.qtype === qtype && a.qclass === qclass && a.shape === shape && sameBytes(a.name, name)) return;
    this.buckets.set(key, { name, qtype, qclass, shape, qname, message, next: head });
    this.entries++;
  }

  clear(): void {
    this.buckets.clear();
    this.entries = 0;
  }
}

/** FNV-1a over the folded name bytes, then the type, class and shape. */
function hashKey(buf: Buffer, start: number, end: number, qtype: number, qclass: number, shape: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ fold(buf[i]), 0x01000193);
  h = Math.imul(h ^ qtype, 0x01000193);
  h = Math.imul(h ^ qclass, 0x01000193);
  h = Math.imul(h ^ shape, 0x01000193);
  return h | 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
