// A zone in BIND master-file format (RFC 1035 §5), for `ispd zone export` and named-checkzone.

import { absoluteText } from './name';
import { rdataText } from './rdata';
import { RRType, typeName } from './types';
import type { Zone } from './zone';

export function zoneToMasterFile(zone: Zone, header = true): string {
  const lines: string[] = [];
  const soaSet = zone.soaSet;
  if (header) lines.push(`; zone ${absoluteText(zone.origin)} served by ispd, serial ${zone.serial}`);
  lines.push(`$ORIGIN ${absoluteText(zone.origin)}`);
  lines.push(`$TTL ${soaSet.ttl}`);
  const s = zone.soa;
  lines.push(`@\t${soaSet.ttl}\tIN\tSOA\t${absoluteText(s.mname)} ${absoluteText(s.rname)} (`);
  lines.push(`\t\t${s.serial} ; serial`, `\t\t${s.refresh} ; refresh`, `\t\t${s.retry} ; retry`, `\t\t${s.expire} ; expire`, `\t\t${s.minimum} ; minimum`, `\t\t)`);
  const owners = [...zone.nodes.keys()].sort(compareNames);
  for (const owner of owners) {
    const node = zone.nodes.get(owner)!;
    const sets = [...node.values()].filter((x) => x.type !== RRType.SOA).sort((a, b) => a.type - b.type);
    for (const set of sets) {
      for (const r of set.rdatas) lines.push(`${absoluteText(set.name)}\t${set.ttl}\tIN\t${typeName(set.type)}\t${rdataText(r)}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Canonical-ish order: parents before children, siblings alphabetically (RFC 4034 §6.1 compares labels right to left). */
function compareNames(a: string, b: string): number {
  const la = a.split('.').reverse();
  const lb = b.split('.').reverse();
  for (let i = 0; i < Math.min(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return la[i] < lb[i] ? -1 : 1;
  }
  return la.length - lb.length;
}
