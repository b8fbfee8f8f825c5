// Reads the .cpuprofile files `node --cpu-prof` wrote and says where the time went: self time per function
// (file:line) and inclusive time per source file, over all profiles in a directory (one per process).
// Usage: node dist/bench/profile.js DIR [TOP] [SKIP_FIRST_MS]

import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  files: string[];
  totalMs: number;
  idlePercent: number;
  topSelf: Array<{ fn: string; selfPercent: number }>;
  topFiles: Array<{ file: string; selfPercent: number }>;
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const clean = url.replace(/^file:\/\//, '');
  const dist = clean.indexOf('/dist/');
  if (dist >= 0) return clean.slice(dist + 1); // dist/…/x.js:line — the compiled file's line, near the .ts one
  const modules = clean.lastIndexOf('node_modules/');
  if (modules >= 0) return clean.slice(modules);
  return clean;
}

/**
 * `skipMs`: leave out the samples of the first milliseconds of each profile (the server's start-up, e.g. ispd
 * building its DNS zones), so that the summary shows the time spent under load.
 */
export function summarizeProfiles(dir: string, top = 25, skipMs = 0): ProfileSummary {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  const selfByFn = new Map<string, number>();
  const selfByFile = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const file of files) {
    const profile = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    // time per sample from timeDeltas (microseconds); falls back to hit counts
    const selfUs = new Map<number, number>();
    if (profile.samples && profile.timeDeltas) {
      let elapsedUs = 0;
      for (let i = 0; i < profile.samples.length; i++) {
        elapsedUs += profile.timeDeltas[i] ?? 0;
        if (elapsedUs < skipMs * 1000) continue;
        const delta = profile.timeDeltas[i + 1] ?? 0;
        selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + Math.max(0, delta));
      }
    }
    for (const node of profile.nodes) {
      const us = selfUs.get(node.id) ?? 0;
      total += us;
      const name = node.callFrame.functionName || '(anonymous)';
      if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
        if (name === '(idle)') idle += us;
      }
      const where = shortUrl(node.callFrame.url);
      const key = node.callFrame.url ? `${name} ${where}:${node.callFrame.lineNumber + 1}` : name;
      selfByFn.set(key, (selfByFn.get(key) ?? 0) + us);
      selfByFile.set(where, (selfByFile.get(where) ?? 0) + us);
      void byId;
    }
  }
  // shares of the busy time (all samples but idle): with worker processes the primary idles, which would
  // otherwise swamp the figures; idlePercent is reported against all samples
  const busy = Math.max(1, total - idle);
  const percent = (us: number): number => Math.round((us / busy) * 1000) / 10;
  selfByFn.delete('(idle)');
  selfByFile.delete('(idle)');
  const sorted = (map: Map<string, number>): Array<[string, number]> => [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    files,
    totalMs: Math.round(total / 1000),
    idlePercent: Math.round((idle / Math.max(1, total)) * 1000) / 10,
    topSelf: sorted(selfByFn).map(([fn, us]) => ({ fn, selfPercent: percent(us) })),
    topFiles: sorted(selfByFile).map(([file, us]) => ({ file, selfPercent: percent(us) })),
  };
}

if (require.main === module) {
  const [dir, top, skip] = process.argv.slice(2);
  if (!dir) {
    process.stderr.write('usage: node dist/bench/profile.js DIR [TOP] [SKIP_FIRST_MS]\n');
    process.exit(2);
  }
  process.stdout.on('error', () => process.exit(0)); // piped into head
  const summary = summarizeProfiles(dir, Number(top ?? 30), Number(skip ?? 0));
  process.stdout.write(
    `${summary.files.length} profiles (one per process), ${summary.totalMs} ms sampled, idle ${summary.idlePercent}%; shares below are of the busy time\n\nself time by function:\n`,
  );
  for (const row of summary.topSelf) process.stdout.write(`  ${String(row.selfPercent).padStart(5)}%  ${row.fn}\n`);
  process.stdout.write('\nself time by file:\n');
  for (const row of summary.topFiles) process.stdout.write(`  ${String(row.selfPercent).padStart(5)}%  ${row.file}\n`);
}
