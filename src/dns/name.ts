// Domain-name helpers over ispd's internal spelling: absolute, lower-case, no trailing dot, '' = root.

const MAX_NAME_WIRE = 255;

/** Lower-cases and strips one trailing dot: 'WWW.Example.COM.' → 'www.example.com'. */
export function canonicalName(name: string): string {
  let n = name.trim().toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  return n;
}

/** True when the name fits the wire limits (RFC 1035 §2.3.4) and has no empty label. */
const VALID_NAME = /^(?:[^.\s"\\()]{1,63}\.)*[^.\s"\\()]{1,63}$/;

export function isValidName(name: string): boolean {
  if (name === '') return true;
  return name.length <= MAX_NAME_WIRE - 2 && VALID_NAME.test(name);
}

/** Whether `name` is `zone` or below it. */
export function isSubdomain(name: string, zone: string): boolean {
  if (zone === '') return true;
  return name === zone || name.endsWith('.' + zone);
}

export function parentName(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1);
}

/** Joins a relative label sequence to an origin. */
export function joinName(relative: string, origin: string): string {
  if (origin === '') return relative;
  if (relative === '') return origin;
  return `${relative}.${origin}`;
}

/**
 * Resolves a name as written in directory data against the zone origin, the way a BIND master file does:
 * '@' or empty → the origin; a trailing dot → absolute; otherwise relative to the origin.
 */
export function resolveRelative(written: string, origin: string): string {
  const w = written.trim();
  if (w === '' || w === '@') return origin;
  if (w.endsWith('.')) return canonicalName(w);
  return joinName(w.toLowerCase(), origin);
}

/**
 * Resolves an MX/NS target. ISPMan's exporter forces a trailing dot on these (staticHost), so a dotted name is
 * absolute even without the final dot; only a single bare label (e.g. 'mail') is taken relative to the zone.
 */
export function resolveHostTarget(written: string, origin: string): string {
  const w = written.trim();
  if (w === '' || w === '@') return origin;
  if (w.endsWith('.')) return canonicalName(w);
  if (!w.includes('.')) return joinName(w.toLowerCase(), origin);
  return w.toLowerCase();
}

/** Presentation form with the trailing dot, for master files and logs. */
export function absoluteText(name: string): string {
  return name === '' ? '.' : name + '.';
}
