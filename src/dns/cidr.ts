// Address lists for transfer ACLs: "127.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32", "any".

import { isIPv4, isIPv6 } from 'node:net';
import { ipv6Bytes } from './rdata';

interface Range {
  bytes: Buffer;
  bits: number;
}

function toBytes(address: string): Buffer | undefined {
  const a = address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  if (isIPv4(a)) return Buffer.from(a.split('.').map(Number));
  if (isIPv6(a)) return ipv6Bytes(a);
  return undefined;
}

export class AddressList {
  private readonly ranges: Range[] = [];
  private anyAddress = false;

  constructor(entries: string[] = []) {
    for (const e of entries) {
      const t = e.trim();
      if (t === 'any' || t === '*') {
        this.anyAddress = true;
        continue;
      }
      const [addr, len] = t.split('/');
      const bytes = toBytes(addr);
      if (!bytes) throw new Error(`bad address or CIDR "${e}"`);
      const bits = len === undefined ? bytes.length * 8 : Number(len);
      if (!Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) throw new Error(`bad prefix length in "${e}"`);
      this.ranges.push({ bytes, bits });
    }
  }

  contains(address: string): boolean {
    if (this.anyAddress) return true;
    const b = toBytes(address);
    if (!b) return false;
    for (const r of this.ranges) {
      if (r.bytes.length !== b.length) continue;
      let ok = true;
      let bits = r.bits;
      for (let i = 0; bits > 0 && ok; i++, bits -= 8) {
        const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
        if ((r.bytes[i] & mask) !== (b[i] & mask)) ok = false;
      }
      if (ok) return true;
    }
    return false;
  }
}
