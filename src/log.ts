// Logging with pino: JSON lines by default, a readable one-line format on a terminal, child loggers
// per subsystem, a level that SIGHUP can change for every logger already handed out, an optional
// sampled access log, and secrets (userPassword, bind credentials …) replaced before anything is written.
import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config, LogLevel } from './config/load';

export type { Logger };

export type LogSettings = Pick<Config['log'], 'level' | 'format'>;

const REDACTED = '[Redacted]';

/** Keys whose values are secrets wherever they appear: userPassword, newPassword, passwd, credentials, sambaNTPassword … */
const SECRET_KEY = /passw(or)?d$|^credentials?$|secret|^unicodePwd$|^pass$|^rootpw$/i;
/** Keys naming an attribute in { type: 'userPassword', values: [...] } shapes (LDAP attributes and modifications). */
const ATTRIBUTE_NAME_KEYS = ['type', 'name', 'attribute'];
const ATTRIBUTE_VALUE_KEYS = ['values', 'vals', 'value'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Returns `value` with secrets replaced, copying only the objects that change. Walks plain objects
 * and arrays (not Errors, Buffers or class instances, which have their own serializers) a few levels deep.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (depth > 8) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    value.forEach((item, index) => {
      const redacted = redactSecrets(item, depth + 1);
      if (redacted !== item) (copy ??= [...value])[index] = redacted;
    });
    return (copy ?? value) as T;
  }
  if (!isPlainObject(value)) return value;
  let copy: Record<string, unknown> | null = null;
  const namesSecretAttribute = ATTRIBUTE_NAME_KEYS.some((k) => typeof value[k] === 'string' && SECRET_KEY.test(value[k] as string));
  for (const [key, item] of Object.entries(value)) {
    let redacted: unknown;
    if (SECRET_KEY.test(key) || (namesSecretAttribute && ATTRIBUTE_VALUE_KEYS.includes(key))) {
      redacted = item === undefined || item === null ? item : REDACTED;
    } else {
      redacted = redactSecrets(item, depth + 1);
    }
    if (redacted !== item) (copy ??= { ...value })[key] = redacted;
  }
  return (copy ?? value) as T;
}

// ---------------------------------------------------------------------------------------------
// Pretty output for terminals: "13:40:17.123 INFO  [ldap] listening address=127.0.0.1:1389"

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLORS: Record<string, string> = { TRACE: '90', DEBUG: '36', INFO: '32', WARN: '33', ERROR: '31', FATAL: '35' };
const PRETTY_SKIPPED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'subsystem', 'err']);

export function formatPrettyLine(jsonLine: string, colors: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine.endsWith('\n') ? jsonLine : jsonLine + '\n';
  }
  const level = typeof record.level === 'number' ? LEVEL_NAMES[record.level] ?? String(record.level) : String(record.level ?? '').toUpperCase();
  const time = typeof record.time === 'string' ? record.time.slice(11, 23) : new Date(Number(record.time ?? Date.now())).toISOString().slice(11, 23);
  const paint = (code: string, text: string): string => (colors ? `\u001b[${code}m${text}\u001b[0m` : text);
  const parts = [paint('90', time), paint(LEVEL_COLORS[level] ?? '0', level.padEnd(5))];
  if (record.subsystem !== undefined) parts.push(paint('1', `[${String(record.subsystem)}]`));
  if (record.msg !== undefined) parts.push(String(record.msg));
  for (const [key, value] of Object.entries(record)) {
    if (PRETTY_SKIPPED.has(key)) continue;
    parts.push(`${paint('90', key + '=')}${typeof value === 'string' && !/[\s"]/.test(value) && value !== '' ? value : JSON.stringify(value)}`);
  }
  let line = parts.join(' ') + '\n';
  const err = record.err as { stack?: string; message?: string } | undefined;
  if (err) line += (err.stack ?? err.message ?? JSON.stringify(err)).replace(/^/gm, '    ') + '\n';
  return line;
}

export function prettyStream(out: NodeJS.WritableStream = process.stdout, colors = Boolean((out as { isTTY?: boolean }).isTTY)): DestinationStream {
  return { write: (line: string) => void out.write(formatPrettyLine(line, colors)) };
}

// ---------------------------------------------------------------------------------------------
// Loggers and the level switch

/** Every logger of one createLogger() family, weakly held so per-connection children can be collected. */
type Family = { refs: Set<WeakRef<Logger>>; added: number };
const familyOf = new WeakMap<Logger, Family>();
const families = new Set<Family>();

function track(family: Family, logger: Logger): void {
  familyOf.set(logger, family);
  family.refs.add(new WeakRef(logger));
  if (++family.added % 1024 === 0) {
    for (const ref of family.refs) if (ref.deref() === undefined) family.refs.delete(ref);
  }
}

export interface CreateLoggerOptions {
  /** Where lines go; stdout by default. Used by tests and by tools that log to stderr. */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * The root logger. format "auto" means pretty when the destination is a terminal, JSON otherwise.
 * Make subsystem loggers with subsystemLogger(root, 'ldap').
 */
export function createLogger(config: { readonly log: LogSettings }, options: CreateLoggerOptions = {}): Logger {
  const out = options.destination ?? process.stdout;
  const isTTY = Boolean((out as { isTTY?: boolean }).isTTY);
  const pretty = config.log.format === 'pretty' || (config.log.format === 'auto' && isTTY);
  const family: Family = { refs: new Set(), added: 0 };
  const destination: DestinationStream = pretty
    ? prettyStream(out, isTTY)
    : out === process.stdout
      ? pino.destination({ dest: 1, sync: true })
      : (out as unknown as DestinationStream);
  const logger = pino(
    {
      level: config.log.level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => redactSecrets(bindings),
        log: (object) => redactSecrets(object),
      },
      onChild: (child) => track(family, child),
    },
    destination,
  );
  // pino applies formatters.bindings to the root only; children are made with Object.create(parent),
  // so redacting here covers child bindings at every depth.
  const makeChild = logger.child;
  logger.child = function redactedChild(this: Logger, bindings, childOptions) {
    return makeChild.call(this, redactSecrets(bindings), childOptions);
  } as Logger['child'];
  track(family, logger);
  families.add(family);
  return logger;
}

/** A child logger whose lines carry subsystem=<name> (ldap, dns, store, metrics, acl …). */
export function subsystemLogger(parent: Logger, subsystem: string, bindings: Record<string, unknown> = {}): Logger {
  return parent.child({ subsystem, ...bindings });
}

/**
 * Sets the level of `logger`'s family (the root and every child made from it), or of every family
 * when no logger is given. pino children copy the level when created, hence the tracking.
 */
export function setLogLevel(level: LogLevel, logger?: Logger): void;
/** The same with the logger first, as src/server.ts calls it. */
export function setLogLevel(logger: Logger, level: LogLevel): void;
export function setLogLevel(first: LogLevel | Logger, second?: Logger | LogLevel): void {
  const [level, logger] = typeof first === 'string' ? [first, second as Logger | undefined] : [second as LogLevel, first];
  const targets = logger ? [familyOf.get(logger)].filter((f): f is Family => f !== undefined) : [...families];
  if (logger && targets.length === 0) logger.level = level;
  for (const family of targets) {
    for (const ref of family.refs) {
      const member = ref.deref();
      if (member === undefined) family.refs.delete(ref);
      else member.level = level;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Access log

export type AccessSettings = Pick<Config['log'], 'access' | 'accessSample'>;

export interface AccessLog {
  /** False when log.access is off: callers can skip building the fields. */
  readonly enabled: boolean;
  /** Writes one access line (at info) for a sampled share of calls. */
  record(fields: Record<string, unknown>, msg?: string): void;
  /** Applies new settings (SIGHUP). */
  update(settings: AccessSettings): void;
}

/** One line per LDAP operation or DNS query, e.g. record({ proto: 'ldap', op: 'search', base, result, ms }). */
export function createAccessLog(parent: Logger, settings: AccessSettings, random: () => number = Math.random): AccessLog {
  const logger = subsystemLogger(parent, 'access');
  let current = settings;
  return {
    get enabled() {
      return current.access && current.accessSample > 0;
    },
    record(fields, msg = 'access') {
      if (!current.access || current.accessSample <= 0) return;
      if (current.accessSample < 1 && random() >= current.accessSample) return;
      logger.info(fields, msg);
    },
    update(next) {
      current = next;
    },
  };
}
