// `ispd dnssec enable|disable|status|ds|rollover ZONE`: the per-zone signing switch and its keys, written to the
// directory (src/dns/dnssec/keystore.ts). A running server picks the change up from the change log.

import { parseCommandLine, renderOptionsHelp } from '../config/load';
import type { Entry } from '../directory/types';
import { buildZonesReport, isZoneEntry } from '../dns/build';
import { parseAlgorithm } from '../dns/dnssec/keys';
import { DnssecKeyStore, dsLines, RolloverTooEarly, statusLines } from '../dns/dnssec/keystore';
import { canonicalName } from '../dns/name';
import { SYSTEM_CONTEXT } from '../directory/operations';
import type { Zone } from '../dns/zone';
import { UsageError } from './usage';

const USAGE = `usage: ispd dnssec enable ZONE [--algorithm 13|15]   sign ZONE (keys created in the directory)
       ispd dnssec disable ZONE                        serve ZONE unsigned (remove its DS at the parent first)
       ispd dnssec status ZONE                         keys and their states
       ispd dnssec ds ZONE                             the DS records for the parent (registrar)
       ispd dnssec rollover ZONE zsk|ksk [--force] [--ds-ttl SECONDS]
                                                       one step of a ZSK (pre-publish) or KSK (double-DS) rollover
`;

const FLAGS = { '--algorithm': 'string', '--force': 'boolean', '--ds-ttl': 'string' } as const;

export async function runDnssec(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.length === 0) {
    process.stdout.write(USAGE + '\n' + renderOptionsHelp() + '\n');
    return argv.length === 0 ? 2 : 0;
  }
  const cl = parseCommandLine(argv, process.env, { positionals: true, commandFlags: FLAGS });
  const [sub, zoneArg, role, ...rest] = cl.positionals;
  if (!zoneArg || !['enable', 'disable', 'status', 'ds', 'rollover'].includes(sub)) throw new UsageError('expected: dnssec enable|disable|status|ds|rollover ZONE');
  if (rest.length || (sub === 'rollover' ? role !== 'zsk' && role !== 'ksk' : role !== undefined)) throw new UsageError(sub === 'rollover' ? 'expected: dnssec rollover ZONE zsk|ksk' : `unexpected argument ${role}`);
  const algorithmText = cl.flags['--algorithm'];
  const algorithm = typeof algorithmText === 'string' ? parseAlgorithm(algorithmText) : undefined;
  if (typeof algorithmText === 'string' && algorithm === undefined) throw new UsageError(`--algorithm: ${algorithmText} is not 13 (ECDSAP256SHA256) or 15 (ED25519)`);
  const dsTtlText = cl.flags['--ds-ttl'];
  const dsTtl = typeof dsTtlText === 'string' ? Number(dsTtlText) : 86400;
  if (!Number.isInteger(dsTtl) || dsTtl < 0) throw new UsageError(`--ds-ttl: ${String(dsTtlText)} is not a number of seconds`);
  const zone = canonicalName(zoneArg);

  const { openStore } = require('../server') as typeof import('../server');
  const store = openStore(cl.config);
  const keys = new DnssecKeyStore(store.directory, cl.config.baseDN);
  const out = (line: string) => process.stdout.write(line + '\n');
  try {
    const served = servedZone(store.backend.all(), zone, cl.config.dns.serialFormat);
    switch (sub) {
      case 'enable': {
        if (!served) process.stderr.write(`ispd dnssec: warning: the directory has no zone ${zone} (yet); it is signed once it has\n`);
        const config = await keys.enable(zone, algorithm);
        await touch(store.directory, served);
        for (const l of statusLines(config)) out(l);
        out('; DS records for the parent:');
        for (const l of dsLines(config)) out(l);
        return 0;
      }
      case 'disable': {
        if (!(await keys.disable(zone))) {
          process.stderr.write(`ispd dnssec: ${zone} has no DNSSEC configuration\n`);
          return 1;
        }
        await touch(store.directory, served);
        out(`${zone}: signing disabled (keys kept)`);
        return 0;
      }
      case 'status':
      case 'ds': {
        const config = keys.read(zone);
        if (!config) {
          process.stderr.write(`ispd dnssec: ${zone} has no DNSSEC configuration\n`);
          return 1;
        }
        for (const l of sub === 'ds' ? dsLines(config) : statusLines(config)) out(l);
        return 0;
      }
      default: {
        const ttls = served ? zoneTtls(served) : { dnskey: 3600, max: 86400 };
        const force = cl.flags['--force'] === true;
        const step = role === 'zsk' ? await keys.rollZsk(zone, { dnskeyTtl: ttls.dnskey, maxTtl: ttls.max, force }) : await keys.rollKsk(zone, { dsTtl, force });
        await touch(store.directory, served);
        out(step.done);
        out(`next: ${step.next}`);
        for (const l of statusLines(keys.read(zone)!)) out(l);
        return 0;
      }
    }
  } catch (err) {
    if (err instanceof RolloverTooEarly) {
      process.stderr.write(`ispd dnssec: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    store.backend.close();
  }
}

function servedZone(all: Iterable<{ dn: string; attrs: Record<string, string[]> }>, origin: string, format: 'date' | 'counter'): Zone | undefined {
  const entries: Entry[] = [];
  for (const e of all) {
    const entry = { dn: e.dn, attributes: e.attrs };
    if (isZoneEntry(entry)) entries.push(entry);
  }
  const { initialSerial } = require('../dns/serial') as typeof import('../dns/serial');
  return buildZonesReport(entries, { defaultSerial: initialSerial(format) }).zones.find((z) => z.origin === origin);
}

/** The DNSKEY TTL (the apex default, as the signer publishes it) and the largest TTL in the zone. */
function zoneTtls(zone: Zone): { dnskey: number; max: number } {
  let max = 0;
  for (const set of zone.rrsets(false)) max = Math.max(max, set.ttl);
  return { dnskey: zone.soaSet.ttl, max };
}

/**
 * Raises the zone's stored serial (a write to its SOA entry that changes nothing else: the serial hook does the
 * rest), so that a key change is a new version of the zone for secondaries, also across restarts.
 */
async function touch(directory: import('../directory/operations').DirectoryService, zone: Zone | undefined): Promise<void> {
  const dn = zone?.source.soaDn;
  if (!dn) return;
  const entry = directory.backend.getByDnNorm(directory.dn.normalize(dn));
  const classes = entry && Object.entries(entry.attrs).find(([k]) => k.toLowerCase() === 'objectclass');
  if (!classes) return;
  await directory.modify(dn, [{ operation: 'replace', attribute: 'objectClass', values: classes[1] }], SYSTEM_CONTEXT);
}
