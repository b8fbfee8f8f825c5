// `ispd check-config`: loads the configuration exactly as `serve` would (file → ISPD_* → flags), then
// checks what only shows at start: the ACL file parses, the TLS certificate and key load as a pair, the
// runAs user and group exist, the schema loads. Prints the effective configuration with the source of
// every value not at its default; exit 0 when good, 2 with a one-line reason when not.
import fs from 'node:fs';
import tls from 'node:tls';
import { loadAclFile } from '../acl/file';
import { ConfigError, parseCommandLine, renderEffectiveConfig, renderOptionsHelp, type Config } from '../config/load';
import { DNNormalizer } from '../directory/dn';
import { loadSchema, POWERDNS_SCHEMA_FILES } from '../directory/schema';
import { resolveRunAs } from '../lifecycle/privileges';

export async function runCheckConfig(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write('usage: ispd check-config [--config FILE] [flags]\n\n' + renderOptionsHelp() + '\n');
    return 0;
  }
  const cl = parseCommandLine(argv);
  checkStartupResources(cl.config);
  process.stdout.write(renderEffectiveConfig(cl).replace(/^# ispd effective configuration$/m, '# ispd effective configuration: OK'));
  return 0;
}

/** What serve loads at start besides the option values; throws ConfigError naming the key. */
export function checkStartupResources(config: Config): void {
  const schema = loadSchema({ extraFiles: POWERDNS_SCHEMA_FILES });
  for (const name of config.indexes) {
    if (!schema.attributeType(name)) throw new ConfigError('indexes', name, 'an attribute type of the schema', undefined, `indexes: ${JSON.stringify(name)} is not an attribute type of the schema`);
  }
  if (config.acl.file) {
    try {
      loadAclFile(config.acl.file, new DNNormalizer(schema));
    } catch (err) {
      throw new ConfigError('acl.file', config.acl.file, 'a valid access rules file', undefined, `acl.file: ${JSON.stringify(config.acl.file)}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (config.tls.cert && config.tls.key) {
    try {
      tls.createSecureContext({ cert: fs.readFileSync(config.tls.cert), key: fs.readFileSync(config.tls.key), ...(config.tls.ca ? { ca: fs.readFileSync(config.tls.ca) } : {}) });
    } catch (err) {
      throw new ConfigError('tls.cert', config.tls.cert, 'a certificate matching tls.key', undefined, `tls.cert: ${JSON.stringify(config.tls.cert)} with tls.key ${JSON.stringify(config.tls.key)} does not load (${(err as Error).message.split('\n')[0]})`);
    }
  }
  resolveRunAs(config.runAs);
}
