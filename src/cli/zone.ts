// `ispd zone export ZONE`: one zone as the DNS server would serve it, in BIND master-file format
// (for migration to another server and for debugging; named-checkzone accepts it).

import type { Entry } from '../directory/types';
import { parseCommandLine, renderOptionsHelp } from '../config/load';
import { buildZonesReport, isZoneEntry } from '../dns/build';
import { zoneToMasterFile } from '../dns/masterfile';
import { canonicalName } from '../dns/name';
import { initialSerial, SerialFormat } from '../dns/serial';
import { UsageError } from './usage';

export interface ZoneExportDeps {
  /** Every entry of the store (only zone data is used). */
  entries: Iterable<Entry>;
  out: { write(text: string): unknown };
  err?: { write(text: string): unknown };
  serialFormat?: SerialFormat;
}

/** Prints the zone; returns 0, or 1 when ispd does not serve that zone. */
export function runZoneExport(args: { zone: string }, deps: ZoneExportDeps): number {
  const entries: Entry[] = [];
  for (const e of deps.entries) if (isZoneEntry(e)) entries.push(e);
  const report = buildZonesReport(entries, { defaultSerial: initialSerial(deps.serialFormat ?? 'date') });
  const origin = canonicalName(args.zone);
  const zone = report.zones.find((z) => z.origin === origin);
  if (!zone) {
    deps.err?.write(`ispd zone: no zone ${args.zone} in the directory\n`);
    return 1;
  }
  for (const w of zone.warnings) deps.err?.write(`; warning: ${w}\n`);
  deps.out.write(zoneToMasterFile(zone));
  return 0;
}

export async function runZoneCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.length === 0) {
    process.stdout.write('usage: ispd zone export ZONE [--db FILE]\n\n' + renderOptionsHelp() + '\n');
    return argv.length === 0 ? 2 : 0;
  }
  const cl = parseCommandLine(argv, process.env, { positionals: true });
  const [sub, zone, ...rest] = cl.positionals;
  if (sub !== 'export' || !zone || rest.length) throw new UsageError('expected: zone export ZONE');
  const { openStore } = require('../server') as typeof import('../server');
  const { backend } = openStore(cl.config);
  try {
    const entries = (function* () {
      for (const e of backend.all()) yield { dn: e.dn, attributes: e.attrs } as Entry;
    })();
    return runZoneExport({ zone }, { entries, out: process.stdout, err: process.stderr, serialFormat: cl.config.dns.serialFormat });
  } finally {
    backend.close();
  }
}
