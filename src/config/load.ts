// Builds the Config: defaults → YAML file (--config FILE or ISPD_CONFIG) → environment ISPD_* → flags.
// Every value is validated where it enters, so a ConfigError can say which file line, variable or
// flag carried the bad value.
import fs from 'node:fs';
import YAML, { isMap, isScalar, LineCounter, type Node as YamlNode } from 'yaml';
import {
  ConfigError,
  FLAT_OPTIONS,
  GROUP_KEYS,
  InvalidValue,
  OPTIONS_BY_KEY,
  envNameOf,
  renderConfigYaml,
  showValue,
  type Config,
  type ListenAddress,
} from './config';

export * from './config';

/** Flags a command accepts besides the configuration flags: 'boolean' flags take no value. */
export type CommandFlagSpec = Readonly<Record<string, 'boolean' | 'string'>>;

export interface CommandLineOptions {
  /** Command-specific flags, e.g. { '--demo': 'boolean', '--relaxed': 'boolean' }. */
  readonly commandFlags?: CommandFlagSpec;
  /** Whether non-flag arguments are accepted (e.g. import FILE.ldif). */
  readonly positionals?: boolean;
}

export interface CommandLine {
  readonly config: Config;
  /** Command-specific flags that were given: true for boolean flags, the value otherwise. */
  readonly flags: Readonly<Record<string, string | true>>;
  readonly positionals: readonly string[];
  /** Where each option's value came from: "default", "FILE line N", "environment X", "flag --x". */
  readonly sources: ReadonlyMap<string, string>;
  /** The configuration file read, if any. */
  readonly configFile: string | null;
}

/** The configuration flags every command understands, besides each option's own flag. */
export const GENERIC_FLAGS = {
  '--config': 'FILE: YAML configuration file (also ISPD_CONFIG)',
  '--set': 'KEY=VALUE: set any option, e.g. --set ldap.sizeLimit=100 (repeatable)',
} as const;

const FLAG_TO_KEY: ReadonlyMap<string, string> = new Map(
  FLAT_OPTIONS.filter(({ def }) => def.flag).map(({ key, def }) => [def.flag!, key]),
);

/** Environment names compared with underscores removed, so ISPD_LOG_LEVEL and ISPD_LOG__LEVEL both mean log.level. */
const squash = (name: string): string => name.replace(/_/g, '').toUpperCase();
const ENV_TO_KEY: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  for (const { key, def } of FLAT_OPTIONS) {
    for (const name of [envNameOf(key), ...(def.envAlias ? [def.envAlias] : [])]) {
      const squashed = squash(name);
      const previous = map.get(squashed);
      if (previous !== undefined && previous !== key) throw new Error(`environment names of ${previous} and ${key} collide`);
      map.set(squashed, key);
    }
  }
  return map;
})();

const CONFIG_ENV = 'ISPD_CONFIG';

/**
 * First words of configuration variables (LDAP, LOG, DNS, DB …). An ISPD_* variable starting with one
 * of them is configuration and must name an option, so a typo fails loudly; other ISPD_* variables
 * (ISPD_DEBUG, ISPD_TEST_TARGET …) belong to tools and tests and are left alone.
 */
const CONFIG_ENV_WORDS: ReadonlySet<string> = new Set(
  FLAT_OPTIONS.flatMap(({ key, def }) => [envNameOf(key), ...(def.envAlias ? [def.envAlias] : [])]).map((name) => name.split('_')[1]),
);

/** Loads the configuration for a command whose only flags are the configuration flags. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config {
  return parseCommandLine(argv, env).config;
}

export function parseCommandLine(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  options: CommandLineOptions = {},
): CommandLine {
  const commandFlags = options.commandFlags ?? {};
  const flagValues: { key: string; raw: string; source: string }[] = [];
  const flags: Record<string, string | true> = {};
  const positionals: string[] = [];
  let configFile: string | null = null;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      if (!options.positionals && i + 1 < argv.length) throw unexpectedArgument(argv[i + 1]);
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      if (!options.positionals) throw unexpectedArgument(arg);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new ConfigError(name, undefined, 'given a value', undefined, `${name}: needs a value`);
      return argv[++i];
    };
    if (commandFlags[name] === 'boolean') {
      if (inline !== undefined) throw new ConfigError(name, inline, 'a flag without a value', undefined, `${name}: takes no value (got ${showValue(inline)})`);
      flags[name] = true;
    } else if (commandFlags[name] === 'string') {
      flags[name] = takeValue();
    } else if (name === '--config') {
      if (configFile !== null) throw new ConfigError('--config', argv[i + 1] ?? inline, 'given once', undefined, '--config: given more than once');
      configFile = takeValue();
    } else if (name === '--set') {
      const assignment = takeValue();
      const split = assignment.indexOf('=');
      const key = split > 0 ? assignment.slice(0, split) : '';
      if (!OPTIONS_BY_KEY.has(key)) {
        throw new ConfigError('--set', assignment, 'KEY=VALUE with a known option key', undefined,
          `--set: ${showValue(assignment)} is not KEY=VALUE with a known option key${key ? suggestion(key) : ''}`);
      }
      flagValues.push({ key, raw: assignment.slice(split + 1), source: `flag --set ${key}` });
    } else if (FLAG_TO_KEY.has(name)) {
      flagValues.push({ key: FLAG_TO_KEY.get(name)!, raw: takeValue(), source: `flag ${name}` });
    } else {
      const known = [...FLAG_TO_KEY.keys(), ...Object.keys(GENERIC_FLAGS), ...Object.keys(commandFlags)].sort();
      throw new ConfigError(name, arg, 'a known flag', undefined, `${name}: unknown flag (known: ${known.join(', ')})`);
    }
  }

  const values = new Map<string, unknown>();
  const sources = new Map<string, string>();
  for (const { key, def } of FLAT_OPTIONS) {
    values.set(key, def.default);
    sources.set(key, 'default');
  }
  const assign = (key: string, raw: unknown, source: string): void => {
    const def = OPTIONS_BY_KEY.get(key)!.def;
    try {
      values.set(key, def.type.parse(raw));
    } catch (error) {
      if (error instanceof InvalidValue) throw new ConfigError(key, raw, error.expected, source);
      throw error;
    }
    sources.set(key, source);
  };

  configFile ??= env[CONFIG_ENV] || null;
  if (configFile !== null) {
    for (const entry of readConfigFile(configFile)) assign(entry.key, entry.raw, entry.source);
  }

  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('ISPD_') || name === CONFIG_ENV || !CONFIG_ENV_WORDS.has(name.split('_')[1])) continue;
    const key = ENV_TO_KEY.get(squash(name));
    if (key === undefined) {
      throw new ConfigError(name, env[name], 'a known ISPD_* variable', undefined,
        `${name}: unknown configuration variable (options map to ISPD_<GROUP>__<NAME>, e.g. ${envNameOf('ldap.sizeLimit')})`);
    }
    assign(key, env[name], `environment ${name}`);
  }

  for (const { key, raw, source } of flagValues) assign(key, raw, source);

  checkCombinations(values, sources);
  const config = deepFreeze(nest(values)) as Config;
  return { config, flags, positionals, sources, configFile };
}

function unexpectedArgument(arg: string): ConfigError {
  return new ConfigError(arg, arg, 'a flag', undefined, `${showValue(arg)}: unexpected argument (flags start with --)`);
}

function suggestion(key: string): string {
  const dot = key.lastIndexOf('.');
  const group = dot >= 0 ? key.slice(0, dot) : '';
  const siblings = [...OPTIONS_BY_KEY.keys(), ...GROUP_KEYS]
    .filter((k) => (group ? k.startsWith(group + '.') && !k.slice(group.length + 1).includes('.') : !k.includes('.')))
    .map((k) => k.slice(group ? group.length + 1 : 0));
  const unique = [...new Set(siblings)];
  if (unique.length === 0) return '';
  return ` (known ${group ? `under ${group}` : 'at the top level'}: ${unique.join(', ')})`;
}

/** Reads the YAML file into (key, raw value, "FILE line N") entries; unknown keys are errors. */
function readConfigFile(file: string): { key: string; raw: unknown; source: string }[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ConfigError('config', file, 'a readable YAML file', undefined, `config: cannot read ${showValue(file)} (${code})`);
  }
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const line = lineCounter.linePos(first.pos[0]).line;
    throw new ConfigError('config', file, 'valid YAML', undefined, `config: ${file} line ${line}: ${first.message.split('\n')[0]}`);
  }
  const entries: { key: string; raw: unknown; source: string }[] = [];
  const where = (node: YamlNode | null | undefined): string => {
    const offset = node?.range?.[0];
    return offset === undefined ? file : `${file} line ${lineCounter.linePos(offset).line}`;
  };
  const walk = (node: unknown, prefix: string): void => {
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return; // empty file or group
    if (!isMap(node)) {
      const label = prefix || 'config';
      throw new ConfigError(label, (node as YamlNode).toJS(doc), 'a mapping of option names to values', where(node as YamlNode),
        `${label}: expected a mapping of option names to values`);
    }
    for (const pair of node.items) {
      const keyNode = pair.key as YamlNode | null;
      const name = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
      const key = prefix ? `${prefix}.${name}` : name;
      const valueNode = pair.value as YamlNode | null;
      if (OPTIONS_BY_KEY.has(key)) {
        entries.push({ key, raw: valueNode === null ? null : valueNode.toJS(doc), source: where(keyNode) });
      } else if (GROUP_KEYS.has(key)) {
        walk(valueNode, key);
      } else {
        throw new ConfigError(key, valueNode === null ? null : valueNode.toJS(doc), 'a known option', where(keyNode),
          `${key}: unknown option${suggestion(key)}`);
      }
    }
  };
  walk(doc.contents, '');
  return entries;
}

/** Rules that involve more than one option. */
function checkCombinations(values: Map<string, unknown>, sources: Map<string, string>): void {
  const get = <T>(key: string): T => values.get(key) as T;
  const fail = (key: string, message: string): never => {
    const source = sources.get(key);
    const value = rendered(key, values.get(key));
    throw new ConfigError(key, value, '', source === 'default' ? undefined : source, `${key}: ${showValue(value)} ${message}`);
  };

  const cert = get<string | null>('tls.cert');
  const key = get<string | null>('tls.key');
  if ((cert === null) !== (key === null)) fail(cert === null ? 'tls.key' : 'tls.cert', `needs ${cert === null ? 'tls.cert' : 'tls.key'} to be set too`);
  for (const fileKey of ['tls.cert', 'tls.key', 'tls.ca', 'acl.file']) {
    const file = get<string | null>(fileKey);
    if (file === null) continue;
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (error) {
      fail(fileKey, `is not a readable file (${(error as NodeJS.ErrnoException).code ?? error})`);
    }
  }
  if (get<string | null>('tls.ca') !== null && cert === null) fail('tls.ca', 'needs tls.cert and tls.key to be set too');

  // LDAPS is off until a certificate is given. The default address (as the sample file spells it
  // out) then simply stays closed; any other address without a certificate is a mistake.
  if (cert === null && get('ldaps.listen') !== null) {
    if (rendered('ldaps.listen', get('ldaps.listen')) !== rendered('ldaps.listen', OPTIONS_BY_KEY.get('ldaps.listen')!.def.default)) {
      fail('ldaps.listen', 'needs tls.cert and tls.key to be set');
    }
    values.set('ldaps.listen', null);
  }
  if (cert === null && get<boolean>('ldap.requireTlsForBind')) fail('ldap.requireTlsForBind', 'needs tls.cert and tls.key (StartTLS and LDAPS need a certificate)');

  // TSIG key names used elsewhere must be keys we have (a typo would refuse every transfer or send unsigned NOTIFYs).
  const tsigNames = new Set(get<readonly string[]>('dns.tsig.keys').map((spec) => spec.split(':').slice(-2, -1)[0].toLowerCase().replace(/\.$/, '')));
  for (const name of get<readonly string[]>('dns.tsig.transferKeys')) if (!tsigNames.has(name)) fail('dns.tsig.transferKeys', `names ${name}, which is not in dns.tsig.keys`);
  const notifyKey = get<string | null>('dns.tsig.notifyKey');
  if (notifyKey !== null && !tsigNames.has(notifyKey.toLowerCase().replace(/\.$/, ''))) fail('dns.tsig.notifyKey', `names ${notifyKey}, which is not in dns.tsig.keys`);

  // Two TCP listeners on one address cannot both bind; say so now rather than with EADDRINUSE later.
  const tcpListeners = ['ldap.listen', 'ldaps.listen', 'dns.listen', 'metrics.listen'];
  const seen = new Map<string, string>();
  for (const listenKey of tcpListeners) {
    const address = get<ListenAddress | null>(listenKey);
    if (address === null || address.port === 0) continue;
    const id = `${address.host.toLowerCase()}:${address.port}`;
    const other = seen.get(id);
    if (other !== undefined) fail(listenKey, `is already used by ${other}`);
    seen.set(id, listenKey);
  }
}

/** A parsed value in the form a user wrote it (host:port rather than {host, port}). */
function rendered(key: string, value: unknown): unknown {
  return OPTIONS_BY_KEY.get(key)!.def.type.render(value as never);
}

function nest(values: Map<string, unknown>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of values) {
    const parts = key.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]] = value;
  }
  return root;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    // Defaults are shared between loads: copy before freezing so no caller can reach a mutable alias.
    const copy: any = Array.isArray(value) ? value.map(deepFreeze) : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepFreeze(v)]));
    return Object.freeze(copy);
  }
  return value;
}

/** The effective configuration as YAML with help comments and, per option, where its value came from. */
export function renderEffectiveConfig(commandLine: CommandLine): string {
  const flat = new Map<string, unknown>();
  const walk = (node: unknown, prefix: string): void => {
    for (const [name, value] of Object.entries(node as object)) {
      const key = prefix ? `${prefix}.${name}` : name;
      if (OPTIONS_BY_KEY.has(key)) flat.set(key, value);
      else walk(value, key);
    }
  };
  walk(commandLine.config, '');
  const changed = [...commandLine.sources].filter(([, source]) => source !== 'default');
  return renderConfigYaml((key) => flat.get(key), [
    'ispd effective configuration',
    `configuration file: ${commandLine.configFile ?? '(none)'}`,
    ...(changed.length ? ['values not at their default:', ...changed.map(([key, source]) => `  ${key} from ${source}`)] : ['all values at their defaults']),
  ]);
}
