// LDIF (RFC 2849) reader and writer.
//
// Reading is line-driven and incremental: `parseLdifStream` holds one record and one input chunk at a time,
// so an import of hundreds of thousands of entries never holds the file in memory. `parseLdif` is the same
// parser over a string or an iterable of lines. Records keep attribute order and options (`cn;lang-de`,
// `userCertificate;binary`) in the names. Errors are LdifError with the (1-based) line number.

import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import type { Modification, ModificationOp } from './types';

export type LdifChangeType = 'add' | 'modify' | 'delete' | 'modrdn' | 'moddn';

export interface LdifControl {
  oid: string;
  critical: boolean;
  value?: string;
}

export interface LdifRecord {
  /** 'entry' for a content record (no changetype), 'change' for a change record. */
  kind: 'entry' | 'change';
  dn: string;
  /** Content records and changetype add: the attribute lines in file order, name as written (with options). */
  attributes: Array<[string, string]>;
  changetype?: LdifChangeType;
  /** changetype modify: the modification specs in order. */
  modifications?: Modification[];
  /** changetype modrdn/moddn. */
  newRdn?: string;
  deleteOldRdn?: boolean;
  newSuperior?: string;
  controls?: LdifControl[];
  /** Line number of the record's dn: line. */
  line: number;
}

export class LdifError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'LdifError';
    this.line = line;
  }
}

export interface LdifParseOptions {
  /** Resolve `attr:< file://…` values by reading the file (default true); false rejects them. */
  allowFileUrls?: boolean;
}

interface LogicalLine {
  text: string;
  line: number;
}

const ATTR_DESC = /^[A-Za-z0-9][A-Za-z0-9.-]*(;[A-Za-z0-9-]+)*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MOD_OPS: ReadonlySet<string> = new Set(['add', 'delete', 'replace', 'increment']);
const utf8 = new TextDecoder('utf-8', { fatal: true });
const MAX_CACHED_NAMES = 1000;

function isDn(name: string): boolean {
  return name.length === 2 && name.toLowerCase() === 'dn';
}

/**
 * The incremental parser: feed physical lines (without their '\n'; a trailing '\r' is dropped), get a record
 * back whenever a blank line completes one, and call finish() at the end of input.
 */
export class LdifParser {
  private pending: LogicalLine | null = null;
  private pendingIsComment = false;
  private lines: LogicalLine[] = [];
  private lineNo = 0;
  private firstRecord = true;
  private readonly allowFileUrls: boolean;
  /** Attribute descriptions already found valid. */
  private readonly validNames = new Set<string>();

  constructor(options: LdifParseOptions = {}) {
    this.allowFileUrls = options.allowFileUrls ?? true;
  }

  /** Feeds one physical line; returns the record it completes, if any. */
  line(raw: string): LdifRecord | null {
    this.lineNo++;
    let text = raw.length > 0 && raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    if (this.lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte order mark from some editors
    if (text.length > 0 && text.charCodeAt(0) === 32) {
      // A folded line: continues the previous line, without its leading space.
      if (this.pending === null) throw new LdifError(this.lineNo, 'continuation line (leading space) without a line to continue');
      if (!this.pendingIsComment) this.pending.text += text.slice(1);
      return null;
    }
    this.flushPending();
    if (text.length === 0) return this.endRecord();
    this.pending = { text, line: this.lineNo };
    this.pendingIsComment = text.charCodeAt(0) === 35; /* # */
    return null;
  }

  /** Ends the input; returns the last record if the input did not end with a blank line. */
  finish(): LdifRecord | null {
    this.flushPending();
    return this.endRecord();
  }

  private flushPending(): void {
    if (this.pending !== null && !this.pendingIsComment) this.lines.push(this.pending);
    this.pending = null;
    this.pendingIsComment = false;
  }

  private endRecord(): LdifRecord | null {
    const lines = this.lines;
    if (lines.length === 0) return null;
    this.lines = [];
    let start = 0;
    if (this.firstRecord) {
      this.firstRecord = false;
      if (/^version:/i.test(lines[0].text)) {
        const [, value] = this.attrLine(lines[0]);
        if (value.trim() !== '1') throw new LdifError(lines[0].line, `unsupported LDIF version "${value}" (only 1)`);
        start = 1;
        if (lines.length === 1) return null; // "version: 1" followed by a blank line
      }
    }
    return this.record(lines, start);
  }

  private record(lines: LogicalLine[], start: number): LdifRecord {
    const first = lines[start];
    const [dnName, dn] = this.attrLine(first);
    if (!isDn(dnName)) throw new LdifError(first.line, `a record must start with "dn:", found "${dnName}:"`);
    const record: LdifRecord = { kind: 'entry', dn, attributes: [], line: first.line };
    let i = start + 1;
    // Change records: optional control lines, then changetype.
    for (; i < lines.length; i++) {
      const [name, value] = this.attrLine(lines[i]);
      const key = name.toLowerCase();
      if (key === 'control') {
        (record.controls ??= []).push(this.control(value, lines[i].line));
        continue;
      }
      if (key === 'changetype') {
        const type = value.trim().toLowerCase();
        if (type !== 'add' && type !== 'modify' && type !== 'delete' && type !== 'modrdn' && type !== 'moddn') {
          throw new LdifError(lines[i].line, `unknown changetype "${value}" (add, modify, delete, modrdn, moddn)`);
        }
        record.kind = 'change';
        record.changetype = type;
        i++;
      } else if (record.controls) {
        throw new LdifError(lines[i].line, 'control lines must be followed by a changetype');
      }
      break;
    }
    switch (record.changetype) {
      case undefined:
      case 'add':
        for (; i < lines.length; i++) {
          const pair = this.attrLine(lines[i]);
          if (isDn(pair[0])) throw new LdifError(lines[i].line, 'a second dn: line in one record (records are separated by a blank line)');
          record.attributes.push(pair);
        }
        if (record.changetype === 'add' && record.attributes.length === 0) {
          throw new LdifError(first.line, 'changetype add without attributes');
        }
        return record;
      case 'delete':
        if (i < lines.length) throw new LdifError(lines[i].line, 'changetype delete takes no further lines');
        return record;
      case 'modrdn':
      case 'moddn':
        return this.modrdn(record, lines, i);
      case 'modify':
        return this.modify(record, lines, i);
    }
  }

  private modrdn(record: LdifRecord, lines: LogicalLine[], i: number): LdifRecord {
    for (; i < lines.length; i++) {
      const [name, value] = this.attrLine(lines[i]);
      switch (name.toLowerCase()) {
        case 'newrdn':
          record.newRdn = value;
          break;
        case 'deleteoldrdn':
          if (value.trim() !== '0' && value.trim() !== '1') throw new LdifError(lines[i].line, `deleteoldrdn must be 0 or 1, not "${value}"`);
          record.deleteOldRdn = value.trim() === '1';
          break;
        case 'newsuperior':
          record.newSuperior = value;
          break;
        default:
          throw new LdifError(lines[i].line, `unexpected "${name}:" in a ${record.changetype} record (newrdn, deleteoldrdn, newsuperior)`);
      }
    }
    if (record.newRdn === undefined) throw new LdifError(record.line, `${record.changetype} record without newrdn`);
    if (record.deleteOldRdn === undefined) throw new LdifError(record.line, `${record.changetype} record without deleteoldrdn`);
    return record;
  }

  private modify(record: LdifRecord, lines: LogicalLine[], i: number): LdifRecord {
    const mods: Modification[] = [];
    let current: Modification | null = null;
    for (; i < lines.length; i++) {
      const l = lines[i];
      if (l.text === '-' || /^-\s+$/.test(l.text)) {
        if (current === null) throw new LdifError(l.line, '"-" without a modification to end');
        current = null;
        continue;
      }
      const [name, value] = this.attrLine(l);
      if (current === null) {
        const op = name.toLowerCase();
        if (!MOD_OPS.has(op)) throw new LdifError(l.line, `expected add:, delete:, replace: or increment:, found "${name}:"`);
        const attribute = value.trim();
        if (!ATTR_DESC.test(attribute)) throw new LdifError(l.line, `invalid attribute description "${attribute}"`);
        current = { operation: op as ModificationOp, attribute, values: [] };
        mods.push(current);
        continue;
      }
      if (name.toLowerCase() !== current.attribute.toLowerCase()) {
        throw new LdifError(l.line, `value for "${name}" inside the ${current.operation} of "${current.attribute}" (missing "-"?)`);
      }
      current.values.push(value);
    }
    if (mods.length === 0) throw new LdifError(record.line, 'changetype modify without modifications');
    record.modifications = mods;
    return record;
  }

  private control(value: string, line: number): LdifControl {
    const m = /^\s*([0-9]+(?:\.[0-9]+)*)(?:\s+(true|false))?\s*(?:(:)\s?(.*)|(::)\s*(.*))?$/.exec(value);
    if (!m) throw new LdifError(line, `malformed control "${value}"`);
    const control: LdifControl = { oid: m[1], critical: m[2] === 'true' };
    if (m[3] !== undefined) control.value = m[4];
    else if (m[5] !== undefined) control.value = this.base64(m[6], line, 'control');
    return control;
  }

  /** Splits "name: value" / "name:: base64" / "name:< url" into [name, decoded value]. */
  private attrLine(l: LogicalLine): [string, string] {
    const text = l.text;
    const colon = text.indexOf(':');
    if (colon <= 0) throw new LdifError(l.line, `expected "attribute: value", found "${text.length > 60 ? text.slice(0, 60) + '…' : text}"`);
    const name = text.slice(0, colon);
    if (!this.validNames.has(name)) {
      if (!ATTR_DESC.test(name)) throw new LdifError(l.line, `invalid attribute description "${name}"`);
      // A file repeats a few dozen names: each is checked once (bounded, for files with many distinct ones).
      if (this.validNames.size < MAX_CACHED_NAMES) this.validNames.add(name);
    }
    let p = colon + 1;
    const kind = text.charCodeAt(p);
    if (kind === 58 /* : */ || kind === 60 /* < */) p++;
    while (text.charCodeAt(p) === 32) p++;
    const rest = text.slice(p);
    if (kind === 58) return [name, this.base64(rest, l.line, name)];
    if (kind === 60) return [name, this.url(rest, l.line, name)];
    return [name, rest];
  }

  private base64(text: string, line: number, name: string): string {
    const b64 = text.trimEnd();
    if (!BASE64.test(b64) || b64.length % 4 === 1) throw new LdifError(line, `invalid base64 value for "${name}"`);
    try {
      return utf8.decode(Buffer.from(b64, 'base64'));
    } catch {
      throw new LdifError(line, `the base64 value of "${name}" is not UTF-8 text (binary values are not supported)`);
    }
  }

  private url(text: string, line: number, name: string): string {
    const url = text.trim();
    if (!this.allowFileUrls) throw new LdifError(line, `"${name}:< ${url}": URL values are not accepted here`);
    if (!/^file:\/\//i.test(url)) throw new LdifError(line, `"${name}:< ${url}": only file:// URLs are supported`);
    let data: Buffer;
    try {
      data = fs.readFileSync(fileURLToPath(url));
    } catch (err) {
      throw new LdifError(line, `"${name}:< ${url}": ${(err as Error).message}`);
    }
    try {
      return utf8.decode(data);
    } catch {
      throw new LdifError(line, `"${name}:< ${url}": the file is not UTF-8 text (binary values are not supported)`);
    }
  }
}

/** Splits text chunks into lines for the parser, carrying a partial last line over to the next chunk. */
class ChunkFeeder {
  private carry = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly parser: LdifParser) {}

  *chunk(chunk: string | Buffer): Generator<LdifRecord> {
    const text = this.carry + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const r = this.parser.line(text.slice(start, nl));
      if (r) yield r;
      start = nl + 1;
    }
    this.carry = text.slice(start);
  }

  *end(): Generator<LdifRecord> {
    const rest = this.carry + this.decoder.end();
    this.carry = '';
    if (rest.length > 0) {
      const r = this.parser.line(rest);
      if (r) yield r;
    }
    const last = this.parser.finish();
    if (last) yield last;
  }
}

/** Parses LDIF text, or an iterable of lines, synchronously. */
export function* parseLdif(input: string | Iterable<string>, options?: LdifParseOptions): Generator<LdifRecord> {
  const parser = new LdifParser(options);
  if (typeof input === 'string') {
    const feeder = new ChunkFeeder(parser);
    yield* feeder.chunk(input);
    yield* feeder.end();
    return;
  }
  for (const line of input) {
    const r = parser.line(line);
    if (r) yield r;
  }
  const last = parser.finish();
  if (last) yield last;
}

/**
 * Parses an LDIF stream (a file or stdin, or any async iterable of text/byte chunks) record by record,
 * holding only the current chunk and record in memory.
 */
export async function* parseLdifStream(
  input: NodeJS.ReadableStream | AsyncIterable<string | Buffer | Uint8Array>,
  options?: LdifParseOptions,
): AsyncGenerator<LdifRecord> {
  const feeder = new ChunkFeeder(new LdifParser(options));
  for await (const chunk of input as AsyncIterable<string | Buffer | Uint8Array>) {
    yield* feeder.chunk(typeof chunk === 'string' || Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  }
  yield* feeder.end();
}

/**
 * Parses an LDIF file (a path, or an open descriptor such as 0 for stdin, which is left open) synchronously,
 * reading it in 1 MiB chunks. `backend.bulkLoad` takes a synchronous iterable and is one transaction, so an
 * import can check each record as it streams by and throw on the first bad one: nothing is loaded, and
 * nothing but the current record is held in memory.
 */
export function* parseLdifFileSync(file: string | number, options?: LdifParseOptions): Generator<LdifRecord> {
  const fd = typeof file === 'number' ? file : fs.openSync(file, 'r');
  try {
    const feeder = new ChunkFeeder(new LdifParser(options));
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        // A non-blocking descriptor (stdin on some terminals) with nothing buffered yet: wait and retry.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if (n === 0) break;
      yield* feeder.chunk(buf.subarray(0, n));
    }
    yield* feeder.end();
  } finally {
    if (typeof file !== 'number') fs.closeSync(fd);
  }
}

// ---- writing ----

const FOLD_AT = 76;

/** RFC 2849 SAFE-STRING: ASCII without NUL/LF/CR, not starting with space, ':' or '<'; also no trailing space. */
export function isSafeLdifString(value: string): boolean {
  const n = value.length;
  if (n === 0) return true;
  const c0 = value.charCodeAt(0);
  if (c0 === 32 || c0 === 58 || c0 === 60) return false;
  if (value.charCodeAt(n - 1) === 32) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c === 10 || c === 13 || c > 126) return false;
  }
  return true;
}

/** "name: value" or "name:: base64", folded at 76 columns, ending with '\n'. */
export function formatLdifLine(name: string, value: string): string {
  const line =
    value === '' ? `${name}:` : isSafeLdifString(value) ? `${name}: ${value}` : `${name}:: ${Buffer.from(value, 'utf8').toString('base64')}`;
  if (line.length <= FOLD_AT) return line + '\n';
  let out = line.slice(0, FOLD_AT) + '\n';
  for (let p = FOLD_AT; p < line.length; p += FOLD_AT - 1) out += ' ' + line.slice(p, p + FOLD_AT - 1) + '\n';
  return out;
}

/** One entry as LDIF: the dn line and one line per value, each ending with '\n' (no blank line after). */
export function formatLdifEntry(dn: string, attributes: Record<string, string[]>): string {
  let out = formatLdifLine('dn', dn);
  for (const name of Object.keys(attributes)) {
    for (const value of attributes[name]) out += formatLdifLine(name, value);
  }
  return out;
}
