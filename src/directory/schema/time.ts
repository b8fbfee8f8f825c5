// Generalized Time (RFC 4517 §3.3.13): parsing to a UTC instant and the normal form used for matching.

const GENERALIZED_TIME = /^([0-9]{4})(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])(?:([0-5][0-9])([0-5][0-9]|60)?)?(?:[.,]([0-9]+))?(Z|[+-](?:[01][0-9]|2[0-3])(?:[0-5][0-9])?)$/;

export interface GeneralizedTime {
  /** Milliseconds since the epoch (UTC). */
  ms: number;
  /** Normal form: YYYYMMDDHHMMSS[.fff]Z in UTC, fraction without trailing zeros. */
  normalized: string;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Formats an instant as the Generalized Time normal form. */
export function formatGeneralizedTime(ms: number): string {
  const d = new Date(ms);
  const base =
    pad(d.getUTCFullYear(), 4) +
    pad(d.getUTCMonth() + 1, 2) +
    pad(d.getUTCDate(), 2) +
    pad(d.getUTCHours(), 2) +
    pad(d.getUTCMinutes(), 2) +
    pad(d.getUTCSeconds(), 2);
  const frac = d.getUTCMilliseconds();
  return frac ? `${base}.${pad(frac, 3).replace(/0+$/, '')}Z` : `${base}Z`;
}

export function parseGeneralizedTime(value: string): GeneralizedTime | null {
  const m = GENERALIZED_TIME.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo) - 1;
  const day = Number(d);
  let ms = Date.UTC(year, month, day, Number(h), mi !== undefined ? Number(mi) : 0, s !== undefined ? Number(s) : 0);
  // Reject impossible dates such as 20230231 (Date.UTC would roll them over).
  const check = new Date(Date.UTC(year, month, day));
  if (check.getUTCMonth() !== month || check.getUTCDate() !== day) return null;
  if (frac !== undefined) {
    // A fraction belongs to the last unit given (hour, minute or second).
    const unit = s !== undefined ? 1000 : mi !== undefined ? 60_000 : 3_600_000;
    ms += Math.round(Number('0.' + frac) * unit);
  }
  if (zone !== 'Z') {
    const sign = zone[0] === '+' ? 1 : -1;
    const offset = Number(zone.slice(1, 3)) * 60 + (zone.length > 3 ? Number(zone.slice(3, 5)) : 0);
    ms -= sign * offset * 60_000;
  }
  return { ms, normalized: formatGeneralizedTime(ms) };
}

/** Compares two normal forms (as produced by parseGeneralizedTime). */
export function compareGeneralizedTime(a: string, b: string): number {
  const head = a.slice(0, 14) < b.slice(0, 14) ? -1 : a.slice(0, 14) > b.slice(0, 14) ? 1 : 0;
  if (head !== 0) return head;
  const fa = a.length > 15 ? Number('0' + a.slice(14, -1)) : 0;
  const fb = b.length > 15 ? Number('0' + b.slice(14, -1)) : 0;
  return fa - fb;
}
