// The option table: the single source for the Config type, defaults, validation, help text,
// `check-config` and the commented sample file. Loading (file → env → flags) lives in load.ts.
import net from 'node:net';
import YAML from 'yaml';
import type { HashScheme } from '../auth/passwords';
import { ENGINE_NAMES } from '../../backends/registry';
import { ALGORITHM_NAMES, parseKeySpec } from '../dns/tsig';
import { checkTemplate, DEFAULT_DNS_TEMPLATE } from '../provision/dns-template';
// @ldapjs/dn ships no type declarations; this is the one call used here.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { DN } = require('@ldapjs/dn') as { DN: { fromString(text: string): unknown } };

// ---------------------------------------------------------------------------------------------
// Errors

/** A configuration problem; the message names the key, the offending value and what is expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly key: string,
    readonly value: unknown,
    readonly expected: string,
    readonly source?: string,
    message?: string,
  ) {
    super(
      (message ?? `${key}: ${showValue(value)} is not ${expected}`) + (source ? ` (from ${source})` : ''),
    );
  }
}

/** Thrown by a value type's parser; load.ts turns it into a ConfigError naming key and source. */
export class InvalidValue extends Error {
  constructor(readonly expected: string) {
    super(expected);
  }
}

export function showValue(value: unknown): string {
  if (value === undefined) return '(nothing)';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------------------------------------
// Value types: parse what a YAML file, an environment variable or a flag gives (strings for the
// last two), and render a parsed value back to the form a YAML file would hold.

export interface ValueType<T> {
  /** Noun phrase used in messages: `<key>: "<value>" is not <expected>`. */
  readonly expected: string;
  parse(raw: unknown): T;
  render(value: T): unknown;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

function isHost(host: string): boolean {
  return net.isIP(host) !== 0 || HOSTNAME.test(host);
}

function formatHostPort(address: ListenAddress): string {
  return net.isIPv6(address.host) ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Parses `host:port` / `[v6]:port`; with defaultPort, a bare host is accepted too. Null when invalid. */
function parseHostPort(text: string, defaultPort?: number): ListenAddress | null {
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2];
    if (!net.isIPv6(host)) return null;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon >= 0 && text.indexOf(':') !== colon) return null; // bare IPv6 is ambiguous: require brackets
    host = colon >= 0 ? text.slice(0, colon) : text;
    portText = colon >= 0 ? text.slice(colon + 1) : undefined;
    if (!isHost(host)) return null;
  }
  if (portText === undefined) return defaultPort === undefined ? null : { host, port: defaultPort };
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  return port <= 65535 ? { host, port } : null;
}

const OFF_WORDS = new Set(['off', 'none', 'disabled', 'false']);

function isOff(raw: unknown): boolean {
  return raw === null || raw === false || (typeof raw === 'string' && OFF_WORDS.has(raw.trim().toLowerCase()));
}

function scalarText(raw: unknown, expected: string): string {
  if (typeof raw === 'string') return raw.trim();
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  throw new InvalidValue(expected);
}

export const types = {
  string(expected = 'a non-empty string'): ValueType<string> {
    return {
      expected,
      parse(raw) {
        const text = scalarText(raw, expected);
        if (text === '') throw new InvalidValue(expected);
        return text;
      },
      render: (value) => value,
    };
  },

  /** A string that may be unset: null, "" or off. */
  optionalString(expected: string): ValueType<string | null> {
    return {
      expected,
      parse(raw) {
        if (raw === null || raw === '' || (typeof raw === 'string' && OFF_WORDS.has(raw.trim().toLowerCase()))) return null;
        const text = scalarText(raw, expected);
        return text === '' ? null : text;
      },
      render: (value) => value,
    };
  },

  oneOf<const C extends readonly string[]>(choices: C): ValueType<C[number]> {
    const expected = `one of ${choices.join(', ')}`;
    return {
      expected,
      parse(raw) {
        const text = scalarText(raw, expected);
        const found = choices.find((choice) => choice.toLowerCase() === text.toLowerCase());
        if (found === undefined) throw new InvalidValue(expected);
        return found;
      },
      render: (value) => value,
    };
  },

  boolean(): ValueType<boolean> {
    const expected = 'true or false';
    return {
      expected,
      parse(raw) {
        if (typeof raw === 'boolean') return raw;
        const text = scalarText(raw, expected).toLowerCase();
        if (['true', 'yes', 'on', '1'].includes(text)) return true;
        if (['false', 'no', 'off', '0'].includes(text)) return false;
        throw new InvalidValue(expected);
      },
      render: (value) => value,
    };
  },

  integer(min: number, max: number, note = ''): ValueType<number> {
    const expected = `an integer from ${min} to ${max}${note}`;
    return {
      expected,
      parse(raw) {
        const text = scalarText(raw, expected);
        if (!/^-?\d+$/.test(text)) throw new InvalidValue(expected);
        const value = Number(text);
        if (!Number.isSafeInteger(value) || value < min || value > max) throw new InvalidValue(expected);
        return value;
      },
      render: (value) => value,
    };
  },

  number(min: number, max: number): ValueType<number> {
    const expected = `a number from ${min} to ${max}`;
    return {
      expected,
      parse(raw) {
        const text = scalarText(raw, expected);
        if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new InvalidValue(expected);
        const value = Number(text);
        if (!Number.isFinite(value) || value < min || value > max) throw new InvalidValue(expected);
        return value;
      },
      render: (value) => value,
    };
  },

  /** A size in bytes: an integer or a number with KiB/MiB/GiB. */
  bytes(min: number, max: number): ValueType<number> {
    const units: Record<string, number> = { '': 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };
    const expected = `a size from ${renderBytes(min)} to ${renderBytes(max)} (bytes, or with KiB/MiB/GiB)`;
    return {
      expected,
      parse(raw) {
        const text = scalarText(raw, expected);
        const match = /^(\d+)\s*([a-z]*)$/i.exec(text);
        const unit = match ? units[match[2].toLowerCase()] : undefined;
        if (!match || unit === undefined) throw new InvalidValue(expected);
        const value = Number(match[1]) * unit;
        if (!Number.isSafeInteger(value) || value < min || value > max) throw new InvalidValue(expected);
        return value;
      },
      render: renderBytes,
    };
  },

  listen(): ValueType<ListenAddress | null> {
    const expected = 'host:port with port 0-65535 (IPv6 as [addr]:port), or off';
    return {
      expected,
      parse(raw) {
        if (isOff(raw)) return null;
        const address = parseHostPort(scalarText(raw, expected));
        if (!address) throw new InvalidValue(expected);
        return address;
      },
      render: (value) => (value === null ? 'off' : formatHostPort(value)),
    };
  },

  /** A list of host[:port] (default port applied); a string is split on commas and spaces. */
  hostPortList(defaultPort: number): ValueType<readonly ListenAddress[]> {
    const expected = `a list of host or host:port (port defaults to ${defaultPort})`;
    return {
      expected,
      parse: (raw) =>
        listItems(raw, expected).map((item) => {
          const address = parseHostPort(item, defaultPort);
          if (!address || address.port === 0) throw new InvalidValue(expected);
          return address;
        }),
      render: (value) => value.map(formatHostPort),
    };
  },

  /** A list of CIDR ranges; a bare address means that one address. Normalized to addr/prefix. */
  cidrList(): ValueType<readonly string[]> {
    const expected = 'a list of CIDR ranges like 192.0.2.0/24 or 2001:db8::/32';
    return {
      expected,
      parse: (raw) =>
        listItems(raw, expected).map((item) => {
          const [address, prefixText, extra] = item.split('/');
          const family = net.isIP(address);
          if (family === 0 || extra !== undefined) throw new InvalidValue(expected);
          const maxPrefix = family === 4 ? 32 : 128;
          if (prefixText === undefined) return `${address}/${maxPrefix}`;
          if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > maxPrefix) throw new InvalidValue(expected);
          return `${address}/${Number(prefixText)}`;
        }),
      render: (value) => [...value],
    };
  },

  /**
   * TSIG keys as dig -y writes them, `[algorithm:]name:base64secret`. Rendered without the secret: the
   * effective configuration (check-config) must not print it.
   */
  tsigKeyList(): ValueType<readonly string[]> {
    const expected = `a list of [algorithm:]name:base64secret (algorithm one of ${ALGORITHM_NAMES.join(', ')}; default hmac-sha256)`;
    return {
      expected,
      parse: (raw) =>
        listItems(raw, expected).map((item) => {
          try {
            parseKeySpec(item);
          } catch {
            throw new InvalidValue(expected);
          }
          return item;
        }),
      render: (value) => value.map((item) => item.replace(/:[^:]*$/, ':(secret)')),
    };
  },

  /** One TSIG key name, or unset. */
  optionalKeyName(): ValueType<string | null> {
    const expected = 'a key name from dns.tsig.keys';
    return {
      expected,
      parse(raw) {
        if (isOff(raw) || raw === '') return null;
        const text = scalarText(raw, expected);
        if (!/^[A-Za-z0-9._-]+$/.test(text)) throw new InvalidValue(expected);
        return text.toLowerCase().replace(/\.$/, '');
      },
      render: (value) => value,
    };
  },

  /** A list of DNS names (TSIG key names). */
  nameList(): ValueType<readonly string[]> {
    const expected = 'a list of key names';
    return {
      expected,
      parse: (raw) =>
        listItems(raw, expected).map((item) => {
          if (!/^[A-Za-z0-9._-]+$/.test(item)) throw new InvalidValue(expected);
          return item.toLowerCase().replace(/\.$/, '');
        }),
      render: (value) => [...value],
    };
  },

  /** A list of LDAP attribute type names (or numeric OIDs). */
  attributeList(): ValueType<readonly string[]> {
    const expected = 'a list of attribute names';
    return {
      expected,
      parse: (raw) =>
        listItems(raw, expected).map((item) => {
          if (!/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)$/.test(item)) throw new InvalidValue(expected);
          return item;
        }),
      render: (value) => [...value],
    };
  },

  /** A list of host names (lower-cased). */
  hostList(): ValueType<readonly string[]> {
    const expected = 'a list of host names';
    return {
      expected,
      parse: (raw) =>
        listItems(raw, expected).map((item) => {
          if (!isHost(item)) throw new InvalidValue(expected);
          return item.toLowerCase();
        }),
      render: (value) => [...value],
    };
  },

  /** Lines of text (a YAML list; from an environment variable or flag, one line per newline), each checked. */
  lines(expected: string, check: (lines: readonly string[]) => void): ValueType<readonly string[]> {
    return {
      expected,
      parse(raw) {
        // From an environment variable or flag: one line per newline, or per comma when there is no newline.
        const lines = Array.isArray(raw) ? raw.map((l) => (typeof l === 'string' || typeof l === 'number' ? String(l) : '')) : typeof raw === 'string' ? raw.split(raw.includes('\n') ? '\n' : ',') : null;
        if (!lines) throw new InvalidValue(expected);
        const kept = lines.map((l) => l.trim()).filter((l) => l !== '');
        try {
          check(kept);
        } catch {
          throw new InvalidValue(expected);
        }
        return kept;
      },
      render: (value) => [...value],
    };
  },

  ipv4(): ValueType<string> {
    const expected = 'an IPv4 address';
    return {
      expected,
      parse(raw) {
        const text = scalarText(raw, expected);
        if (!net.isIPv4(text)) throw new InvalidValue(expected);
        return text;
      },
      render: (value) => value,
    };
  },

  /** A DN that may be unset (null, "" or off). */
  optionalDn(): ValueType<string | null> {
    const dn = types.dn();
    const expected = 'a distinguished name, or unset';
    return {
      expected,
      parse(raw) {
        if (raw === null || raw === '' || (typeof raw === 'string' && OFF_WORDS.has(raw.trim().toLowerCase()))) return null;
        try {
          return dn.parse(raw);
        } catch {
          throw new InvalidValue(expected);
        }
      },
      render: (value) => value,
    };
  },

  dn(): ValueType<string> {
    const expected = 'a distinguished name like o=ispman';
    return {
      expected,
      parse(raw) {
        const text = scalarText(raw, expected);
        if (text === '') throw new InvalidValue(expected);
        try {
          DN.fromString(text);
        } catch {
          throw new InvalidValue(expected);
        }
        return text;
      },
      render: (value) => value,
    };
  },
};

function renderBytes(value: number): string | number {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (value >= size && value % size === 0) return `${value / size}${unit}`;
  }
  return value;
}

function listItems(raw: unknown, expected: string): string[] {
  if (raw === null || raw === undefined) return [];
  if (Array.isArray(raw)) {
    return raw.map((item) => {
      if (typeof item !== 'string' && typeof item !== 'number') throw new InvalidValue(expected);
      return String(item).trim();
    });
  }
  if (typeof raw !== 'string') throw new InvalidValue(expected);
  return raw.split(/[\s,]+/).filter((item) => item !== '');
}

// ---------------------------------------------------------------------------------------------
// The table

export interface OptionDef<T> {
  readonly type: ValueType<T>;
  readonly default: T;
  readonly help: string;
  /** Command-line flag taking this option's value, e.g. --db. */
  readonly flag?: string;
  /** Short environment name in addition to the derived ISPD_<GROUP>__<NAME>, e.g. ISPD_DB. */
  readonly envAlias?: string;
}

function option<T>(type: ValueType<T>, defaultValue: T, help: string, extra: { flag?: string; envAlias?: string } = {}): OptionDef<T> {
  return { type, default: defaultValue, help, ...extra };
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** Schemes src/auth can hash new passwords with (checked against its HashScheme type). */
export const PASSWORD_SCHEMES = ['{SSHA512}', '{SSHA256}', '{SSHA}', '{ARGON2}', '{CRYPT}'] as const satisfies readonly HashScheme[];

/** Attributes indexed by default (design §4). */
export const DEFAULT_INDEXES: readonly string[] = [
  'objectClass', 'uid', 'cn', 'mailLocalAddress', 'mailAlias', 'mailacceptinggeneralid', 'ispmanDomain',
  'uidNumber', 'gidNumber', 'memberUid', 'zoneName', 'relativeDomainName', 'associatedDomain',
];

/**
 * Every option, grouped as in the YAML file. Order here is the order of the sample file and of --help.
 * Environment names are derived: ISPD_ + path segments in UPPER_SNAKE joined by "__"
 * (ldap.maxPduBytes → ISPD_LDAP__MAX_PDU_BYTES); see load.ts.
 */
export const OPTIONS = {
  db: option(types.string('a file path'), './data/ispd.sqlite', 'SQLite database file (created if missing)', { flag: '--db', envAlias: 'ISPD_DB' }),
  // Only the engines this build offers (backends/registry.ts): an unknown one is refused at the configuration check.
  backend: option(types.oneOf(ENGINE_NAMES), 'sqlite', 'storage engine (backends/registry.ts lists the engines this build offers)'),
  entryCache: option(types.integer(0, 100_000_000), 100_000, 'decoded entries each process keeps for binds and lookups by DN (about 2.5 KiB each; 0 = off)'),
  startCheck: option(types.oneOf(['refuse', 'warn', 'off'] as const), 'refuse', 'at start, check the structure of the database file (SQLite quick_check, for up to startCheckSeconds): refuse = exit 2 when it is damaged, warn = log it and serve anyway (e.g. to export what is readable), off = no check'),
  startCheckSeconds: option(types.integer(1, 3600), 10, 'time the start check may take; the tables it did not reach are logged as unchecked'),
  changeLog: {
    maxAgeSeconds: option(types.integer(0, 10 * 365 * 86400, ', 0 = no age limit'), 7 * 86400, 'change-log records older than this are pruned (0 = no age limit); a reader behind the pruned horizon reloads in full'),
    maxRecords: option(types.integer(0, 1_000_000_000, ', 0 = no count limit'), 1_000_000, 'change-log records kept at most, the newest (0 = no count limit)'),
  },
  busyTimeoutMs: option(types.integer(0, 600_000), 5000, 'milliseconds a write waits for another writer (another process, an import) before it fails; LDAP then answers busy (51)'),

  baseDN: option(types.dn(), 'o=ispman', 'suffix of the directory tree served'),
  ldap: {
    listen: option(types.listen(), { host: '127.0.0.1', port: 1389 }, 'LDAP (plain and StartTLS) address host:port, or off', { flag: '--ldap', envAlias: 'ISPD_LDAP' }),
    requireTlsForBind: option(types.boolean(), false, 'refuse simple binds with a password unless the connection uses TLS'),
    maxPduBytes: option(types.bytes(1024, 1024 ** 3), 4 * 1024 ** 2, 'largest LDAP message accepted from a bound client; checked on the BER length before buffering (slapd: sockbuf_max_incoming_auth)'),
    maxPduBytesAnonymous: option(types.bytes(1024, 1024 ** 3), 256 * 1024, 'largest LDAP message accepted before a bind or after an anonymous one (slapd: sockbuf_max_incoming); larger ones close the connection'),
    idleTimeoutSeconds: option(types.integer(0, 86400, ', 0 = never'), 300, 'close client connections idle this long (0 = never; slapd: idletimeout)'),
    maxBufferedOutput: option(types.bytes(64 * 1024, 1024 ** 3), 16 * 1024 ** 2, 'answers one connection may have waiting for the client to read; past it the connection is closed (logged, counted)'),
    maxBufferedOutputTotal: option(types.bytes(1024 ** 2, 64 * 1024 ** 3), 256 * 1024 ** 2, 'the same for all connections of a process together; the connections holding the most are closed first'),
    writeTimeoutSeconds: option(types.integer(0, 86400, ', 0 = never'), 60, 'close a connection whose answers have waited this long for the client to read them (0 = never; slapd: writetimeout)'),
    maxConnections: option(types.integer(1, 1_000_000), 4096, 'open LDAP connections at most, all clients together'),
    maxConnectionsPerAddress: option(types.integer(0, 1_000_000, ', 0 = no limit'), 1024, 'open LDAP connections at most from one client address (0 = no limit)'),
    sizeLimit: option(types.integer(0, 1_000_000_000, ', 0 = no limit'), 500, 'entries returned per search at most unless the client asks for fewer (slapd: sizelimit)'),
    timeLimit: option(types.integer(0, 86400, ', 0 = no limit'), 3600, 'seconds a search may run at most (slapd: timelimit)'),
    unindexed: {
      perIdentity: option(types.integer(0, 10_000, ', 0 = no limit'), 2, 'unindexed searches (scope one or sub, no index narrows the filter, e.g. (cn=*a*)) one identity runs at once in each process; anonymous clients count per address, admins are not limited; more wait their turn (0 = no limit; slapd: limits)'),
      uncheckedAnonymous: option(types.integer(0, 1_000_000_000, ', 0 = no limit'), 0, 'entries an unindexed search by an anonymous client may examine before it ends with adminLimitExceeded (1 refuses them all; 0 = no limit; slapd: limits anonymous size.unchecked)'),
      uncheckedUsers: option(types.integer(0, 1_000_000_000, ', 0 = no limit'), 0, 'the same for authenticated clients other than admins (slapd: limits users size.unchecked)'),
      sliceMs: option(types.integer(1, 1000), 2, 'milliseconds an unindexed search works before other clients (lookups, DNS queries) get the process again'),
    },
    allowAnonymous: option(types.boolean(), true, 'accept anonymous binds and unauthenticated operations (Postfix and nslcd usually bind anonymously)'),
    anonymousRead: option(types.boolean(), false, 'let anonymous clients read entries (never userPassword) without an ACL file saying so; serve --demo turns it on'),
    allowV2Bind: option(types.boolean(), true, 'accept LDAPv2 binds (old Postfix configs say version = 2)'),
    workers: option(types.integer(0, 64, ', 0 = one per CPU core'), 0, 'LDAP worker processes sharing the listeners (0 = one per CPU core; 1 = serve everything in one process)'),
    shutdownGraceSeconds: option(types.integer(0, 3600), 5, 'on SIGTERM/SIGINT, seconds operations in flight may take to finish before connections are closed (keep it below systemd TimeoutStopSec)'),
  },
  ldaps: {
    listen: option(types.listen(), { host: '127.0.0.1', port: 1636 }, 'LDAPS address host:port, or off; only opened when tls.cert and tls.key are set'),
  },
  tls: {
    cert: option(types.optionalString('a PEM file path'), null, 'PEM certificate chain for LDAPS and StartTLS'),
    key: option(types.optionalString('a PEM file path'), null, 'PEM private key for tls.cert'),
    ca: option(types.optionalString('a PEM file path'), null, 'PEM CA bundle to verify client certificates (optional)'),
  },
  auth: {
    passwordScheme: option(types.oneOf(PASSWORD_SCHEMES), '{SSHA512}', 'scheme for newly set passwords'),
    rehashOnBind: option(types.boolean(), false, 'after a successful bind, rehash a password stored with a weaker scheme into passwordScheme'),
    failedBindDelayMs: option(types.integer(0, 60_000), 250, 'failed binds are answered this many milliseconds after the password check began (the next multiple when it took longer), so the answer time does not tell whether the DN exists or which scheme its password uses; keep it above the slowest check (bcrypt, Argon2) under load (0 = at once)'),
    throttle: {
      window: option(types.integer(1, 86400), 60, 'seconds over which failed binds are counted'),
      perDn: option(types.integer(0, 1_000_000, ', 0 = no limit'), 5, 'failed binds for one DN from one address within the window before that address\'s binds for it are slowed down (one attempt per delay, doubling up to maxDelaySeconds); other addresses are not affected (0 = no limit)'),
      perAddress: option(types.integer(0, 1_000_000, ', 0 = no limit'), 100, 'failed binds from one client address within the window (all DNs) before its binds are slowed down the same way (0 = no limit; Dovecot auth_bind binds for all users from one address)'),
      maxDelaySeconds: option(types.integer(1, 3600), 30, 'longest delay between two attempts of a slowed-down DN and address; attempts that would wait longer are refused at once (answered like a wrong password)'),
    },
  },
  dns: {
    listen: option(types.listen(), { host: '127.0.0.1', port: 1053 }, 'DNS address host:port (UDP and TCP), or off', { flag: '--dns', envAlias: 'ISPD_DNS' }),
    allowTransfer: option(types.cidrList(), ['127.0.0.1/32', '::1/128'], 'client ranges allowed to AXFR (CIDR list)'),
    notify: option(types.hostPortList(53), [], 'extra secondaries to NOTIFY on change, host[:port], besides the zone NS records'),
    notifyMode: option(types.oneOf(['yes', 'explicit', 'no'] as const), 'yes', "BIND's notify: yes = the zone's NS hosts and dns.notify, explicit = only dns.notify, no = none (tests and serve --demo use explicit)"),
    notifyRetry: option(types.integer(0, 100), 5, 'times an unanswered NOTIFY is resent'),
    tsig: {
      keys: option(types.tsigKeyList(), [], 'TSIG keys (RFC 8945) for transfers and NOTIFY, [algorithm:]name:base64secret as for dig -y (tsig-keygen makes one); signed requests are answered signed, an unknown key, bad MAC or clock gets NOTAUTH'),
      transferKeys: option(types.nameList(), [], 'when not empty, AXFR/IXFR need a TSIG signature with one of these keys, besides an address in allowTransfer'),
      notifyKey: option(types.optionalKeyName(), null, 'sign the NOTIFY messages sent to secondaries with this key'),
    },
    serialFormat: option(types.oneOf(['date', 'counter'] as const), 'date', 'SOA serials as YYYYMMDDnn (like ISPMan) or a plain counter'),
    udpPayload: option(types.integer(512, 4096), 1232, 'largest UDP response in bytes (EDNS0 buffer size advertised)'),
    tcpIdleSeconds: option(types.integer(1, 3600), 30, 'close idle DNS TCP connections after this many seconds (1 second while more than half of tcpMaxConnections are open, as NSD does)'),
    tcpMessageSeconds: option(types.integer(1, 3600), 5, 'a DNS message over TCP must be complete this many seconds after its first byte, however slowly it trickles in (NSD: tcp-timeout)'),
    tcpMaxConnections: option(types.integer(1, 1_000_000), 512, 'open DNS TCP connections at most, all clients together; more are accepted and closed at once (NSD: tcp-count, tcp-reject-overflow)'),
    tcpMaxConnectionsPerAddress: option(types.integer(0, 1_000_000, ', 0 = no limit'), 32, 'open DNS TCP connections at most from one client address, IPv6 /64 (0 = no limit)'),
    rrl: {
      responsesPerSecond: option(types.integer(0, 1_000_000, ', 0 = off'), 20, 'response rate limiting over UDP: identical responses per second to one client prefix before the rest are dropped or slipped (BIND: responses-per-second; 0 = off)'),
      errorsPerSecond: option(types.integer(0, 1_000_000, ', 0 = no limit'), 20, 'error responses (REFUSED, FORMERR …) per second to one client prefix (0 = no limit)'),
      slip: option(types.integer(0, 10), 2, 'every slip-th limited response is sent truncated (TC=1) so that real resolvers retry over TCP; 0 = drop all, 1 = truncate all'),
      windowSeconds: option(types.integer(1, 3600), 15, 'seconds of debt a flood can run up: a limited prefix stays limited until it has been quiet this long'),
      ipv4PrefixLength: option(types.integer(8, 32), 24, 'IPv4 clients are counted together by this prefix length'),
      ipv6PrefixLength: option(types.integer(16, 128), 56, 'IPv6 clients are counted together by this prefix length'),
      exempt: option(types.cidrList(), ['127.0.0.0/8', '::1/128'], 'client ranges never rate limited (CIDR list)'),
    },
    workers: option(types.boolean(), true, 'LDAP worker processes (ldap.workers) also answer DNS over UDP, each with its own copy of the zones; off = the primary process answers alone'),
    dnssec: {
      signatureValidity: option(types.integer(7200, 31536000), 1209600, 'DNSSEC (zones switched on with `ispd dnssec enable`): RRSIG lifetime in seconds'),
      signatureRefresh: option(types.integer(3600, 31536000), 604800, 'DNSSEC: signatures with fewer seconds than this left are made again, with a new zone serial so secondaries get them (at most half of signatureValidity)'),
    },
  },
  metrics: {
    listen: option(types.listen(), { host: '127.0.0.1', port: 9389 }, 'Prometheus /metrics, /healthz, /readyz address host:port, or off', { flag: '--metrics', envAlias: 'ISPD_METRICS' }),
  },
  log: {
    level: option(types.oneOf(LOG_LEVELS), 'info', 'log level; SIGHUP re-reads it', { flag: '--log-level' }),
    format: option(types.oneOf(['auto', 'json', 'pretty'] as const), 'auto', 'json lines, or pretty for people; auto = pretty when stdout is a terminal', { flag: '--log-format' }),
    access: option(types.boolean(), false, 'log one line per LDAP operation and DNS query'),
    accessSample: option(types.number(0, 1), 1, 'fraction of operations the access log records (0 to 1)'),
  },
  indexes: option(types.attributeList(), DEFAULT_INDEXES, 'attributes indexed for equality, presence and substring search'),
  schema: {
    checks: option(
      types.oneOf(['strict', 'legacy', 'off'] as const),
      'strict',
      'object class checks on LDAP writes: strict (admins may skip them per write with the Relax Rules control, ldapmodify -e relax), legacy (entries loaded with import --relaxed stay editable without being made to pass; new and conforming entries are checked), off (like slapd schemacheck off)',
    ),
  },
  acl: {
    file: option(types.optionalString('a file path'), null, 'access rules file; unset = the built-in ISPMan rules'),
  },
  provision: {
    admin: option(types.optionalDn(), null, 'identity domain/user commands write as, through the ACL like an LDAP client; unset = uid=ispman,ou=admins,<baseDN>'),
    homeDirectory: option(types.string('a directory path'), '/var/www', "where domains live (ISPMan defaultHomeDirectoryPath): <homeDirectory>/<domain>, users in <domain>/users/<uid>"),
    loginShell: option(types.string('a shell path'), '/bin/false', 'loginShell of new domains, users and virtual hosts'),
    mailQuota: option(types.integer(0, 10_000_000), 50, 'mailbox quota of new users in MB, unless --quota (stored in KB as ISPMan does)'),
    virtDomains: option(types.boolean(), true, "ISPMan cyrusVirtDomainFeature: mailRoutingAddress is user@domain (true) or <uid>@<mailHost> (false)"),
    webAddress: option(types.ipv4(), '192.0.2.80', "address of a new domain's A records for @ and www when --webhost names none"),
    dnsTemplate: option(types.lines('DNS template lines "owner TYPE value" (types SOA NS MX A AAAA CNAME TXT; one SOA, at least one NS)', checkTemplate), DEFAULT_DNS_TEMPLATE, 'records of a new primary domain, one "owner TYPE value" per line; ${domain}, ${webaddress}, ${mailhost} are filled in, the SOA serial is added'),
    mailStores: option(types.hostList(), [], "mail stores new users are spread over (fewest users first); empty = the members of ISPMan's ou=hostgroups mailstoregroup"),
    postAdd: option(types.optionalString('a shell command'), null, 'command run after a user is added (%u address, %n uid, %d domain, %h mail store), e.g. doveadm mailbox create -u %u INBOX; failures are kept and retried'),
    postDelete: option(types.optionalString('a shell command'), null, 'command run after a user is deleted (same placeholders as postAdd)'),
  },
  runAs: {
    user: option(types.optionalString('a user name or uid'), null, 'user to switch to after binding ports (when started as root)'),
    group: option(types.optionalString('a group name or gid'), null, 'group to switch to after binding ports (defaults to the user\'s group)'),
  },
} as const;

// ---------------------------------------------------------------------------------------------
// The Config type, derived from the table

type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

type ValuesOf<T> = { [K in keyof T]: T[K] extends OptionDef<infer V> ? V : ValuesOf<T[K]> };

/** The validated, deeply frozen configuration. */
export type Config = DeepReadonly<ValuesOf<typeof OPTIONS>>;

// ---------------------------------------------------------------------------------------------
// Flattened view of the table

export interface FlatOption {
  readonly key: string;
  readonly def: OptionDef<unknown>;
}

function isOptionDef(node: unknown): node is OptionDef<unknown> {
  return typeof node === 'object' && node !== null && 'type' in node && 'help' in node;
}

function flatten(tree: object, prefix: string, out: FlatOption[]): FlatOption[] {
  for (const [name, node] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (isOptionDef(node)) out.push({ key, def: node });
    else flatten(node as object, key, out);
  }
  return out;
}

export const FLAT_OPTIONS: readonly FlatOption[] = flatten(OPTIONS, '', []);
export const OPTIONS_BY_KEY: ReadonlyMap<string, FlatOption> = new Map(FLAT_OPTIONS.map((o) => [o.key, o]));

/** Group keys (ldap, auth.throttle …) that hold options rather than being options. */
export const GROUP_KEYS: ReadonlySet<string> = new Set(
  FLAT_OPTIONS.flatMap(({ key }) => key.split('.').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('.'))),
);

/** ldap.maxPduBytes → ISPD_LDAP__MAX_PDU_BYTES */
export function envNameOf(key: string): string {
  return 'ISPD_' + key.split('.').map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('__');
}

// ---------------------------------------------------------------------------------------------
// Help and the sample file

export interface OptionDescription {
  readonly key: string;
  readonly default: string;
  readonly help: string;
  readonly expected: string;
  readonly env: readonly string[];
  readonly flag?: string;
}

function renderInline(value: unknown): string {
  return YAML.stringify(value, { flowCollectionPadding: false, collectionStyle: 'flow', lineWidth: 0 }).trim();
}

export function describeOptions(): OptionDescription[] {
  return FLAT_OPTIONS.map(({ key, def }) => ({
    key,
    default: def.default === null ? '(unset)' : renderInline(def.type.render(def.default)),
    help: def.help,
    expected: def.type.expected,
    env: [...new Set([envNameOf(key), ...(def.envAlias ? [def.envAlias] : [])])],
    ...(def.flag ? { flag: def.flag } : {}),
  }));
}

/** Plain-text option list for `--help`. */
export function renderOptionsHelp(): string {
  const lines: string[] = [];
  for (const option of describeOptions()) {
    const names = [option.key, ...(option.flag ? [`${option.flag} VALUE`] : []), ...option.env].join(', ');
    lines.push(`  ${names}`, `      ${option.help} [default: ${option.default}]`);
  }
  return lines.join('\n');
}

/**
 * Renders a configuration as a YAML file with each option's help as a comment. With the defaults
 * this is the sample file; with a loaded Config it shows the effective settings (check-config).
 */
export function renderConfigYaml(values: (key: string) => unknown, header: string[]): string {
  const lines = header.map((line) => (line ? `# ${line}` : '#'));
  let openGroups: string[] = [];
  for (const { key, def } of FLAT_OPTIONS) {
    const parts = key.split('.');
    const groups = parts.slice(0, -1);
    let shared = 0;
    while (shared < groups.length && shared < openGroups.length && groups[shared] === openGroups[shared]) shared++;
    for (let depth = shared; depth < groups.length; depth++) {
      if (depth === 0) lines.push('');
      lines.push(`${'  '.repeat(depth)}${groups[depth]}:`);
    }
    openGroups = groups;
    const indent = '  '.repeat(groups.length);
    if (groups.length === 0) lines.push('');
    lines.push(`${indent}# ${def.help}`);
    const rendered = def.type.render(values(key) as never);
    lines.push(`${indent}${parts[parts.length - 1]}: ${rendered === null ? 'null' : renderInline(rendered)}`);
  }
  return lines.join('\n') + '\n';
}

export function renderSampleConfig(): string {
  return renderConfigYaml((key) => OPTIONS_BY_KEY.get(key)!.def.default, [
    'ispd configuration: every option with its default.',
    'Generated from src/config/config.ts (renderSampleConfig); do not edit by hand.',
    'Precedence, lowest first: defaults, this file (--config FILE), environment ISPD_* (nested keys',
    'joined with "__", e.g. ISPD_LDAP__SIZE_LIMIT=100), command-line flags (--db, --ldap, --dns,',
    '--metrics, --log-level, --set key=value). host:port values accept "off" to disable a listener.',
  ]);
}
