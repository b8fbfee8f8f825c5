// `ispd user add|del|passwd|show`: mail users (src/provision/users.ts). `user add --csv FILE` adds many,
// with progress: the whole file is checked first (syntax, duplicates, domains), so a bad line stops the
// run before anything is written; then each user is its own transaction.

import { readFileSync } from 'node:fs';
import { addUser, deleteUser, findUser, parseAddress, ProvisionError, requireDomain, setPassword, storeLoads, type AddUserRequest } from '../provision';
import { passwordFrom } from './domain';
import { Progress } from './progress';
import { helpRequested, withProvisioner } from './provision-session';
import { UsageError } from './usage';

const USAGE = `usage: ispd user add ADDRESS [--password PW | --password-file FILE] [--mailhost STORE]
                       [--alias A[,A…]] [--forward F[,F…]] [--quota MB] [--given-name N] [--surname N]
       ispd user add --csv FILE     lines: address,password,mailhost,quota,aliases,forwards (lists split
                                    on ";"; empty fields take the defaults; a header line is skipped)
       ispd user del ADDRESS
       ispd user passwd ADDRESS [--password PW | --password-file FILE]   (none: a new one is generated)
       ispd user show ADDRESS`;

const FLAGS = {
  '--password': 'string',
  '--password-file': 'string',
  '--mailhost': 'string',
  '--alias': 'string',
  '--forward': 'string',
  '--quota': 'string',
  '--given-name': 'string',
  '--surname': 'string',
  '--csv': 'string',
} as const;

function quota(text: string | undefined, where: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text)) throw new ProvisionError(`${where}invalid quota "${text}": expected a whole number of megabytes`);
  return Number(text);
}

/** One CSV line split into fields ("…" quoting with "" for a quote, as RFC 4180). */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') (v += '"'), (i += 2);
        else if (line[i] === '"') break;
        else v += line[i++];
      }
      i++;
      out.push(v);
      while (i < line.length && line[i] !== ',') i++;
    } else {
      const end = line.indexOf(',', i);
      out.push(line.slice(i, end < 0 ? line.length : end).trim());
      if (end < 0) break;
      i = end;
    }
    i++;
  }
  return out;
}

/** The users of a CSV file, every line checked; an error names the line. */
export function readUserCsv(text: string, file: string): Array<AddUserRequest & { line: number }> {
  const out: Array<AddUserRequest & { line: number }> = [];
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n].replace(/\r$/, '');
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const f = csvFields(raw);
    if (n === 0 && /^address$/i.test(f[0] ?? '')) continue;
    const where = `${file} line ${n + 1}: `;
    let address: string;
    try {
      address = parseAddress(f[0] ?? '').address;
    } catch (e) {
      throw new ProvisionError(where + (e as Error).message);
    }
    if (seen.has(address)) throw new ProvisionError(`${where}${address} is already on line ${seen.get(address)}`);
    seen.set(address, n + 1);
    const split = (s: string | undefined) => (s ?? '').split(/[;\s]+/).filter(Boolean);
    out.push({ line: n + 1, address, password: f[1] || undefined, mailHost: f[2] || undefined, quotaMB: quota(f[3], where), aliases: split(f[4]), forwards: split(f[5]) });
  }
  return out;
}

export async function runUser(argv: string[]): Promise<number> {
  if (helpRequested(argv, USAGE)) return 0;
  return withProvisioner(argv, FLAGS, async ({ p, cl, out, flag, list }) => {
    const [sub, ...args] = cl.positionals;
    const one = () => {
      if (args.length !== 1) throw new UsageError(`expected: user ${sub} ADDRESS`);
      return args[0];
    };
    switch (sub) {
      case 'add': {
        const csv = flag('--csv');
        if (csv !== undefined) {
          if (args.length) throw new UsageError('user add --csv FILE takes no address');
          let text: string;
          try {
            text = readFileSync(csv, 'utf8');
          } catch (e) {
            throw new UsageError(`--csv ${csv}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
          }
          const users = readUserCsv(text, csv);
          for (const d of new Set(users.map((u) => parseAddress(u.address).domain))) {
            try {
              requireDomain(p, d);
            } catch (e) {
              const u = users.find((x) => parseAddress(x.address).domain === d)!;
              throw new ProvisionError(`${csv} line ${u.line}: ${(e as Error).message}`);
            }
          }
          const progress = new Progress('user add', process.stderr);
          progress.phase('add', users.length);
          const loads = new Map(storeLoads(p).map((l) => [l.store, l.users]));
          let done = 0;
          for (const u of users) {
            try {
              const r = await addUser(p, u, loads);
              if (r.password) out.write(`${r.address},${r.password}\n`);
            } catch (e) {
              const msg = `${csv} line ${u.line}: ${(e as Error).message} (${done} users added before it)`;
              if (e instanceof ProvisionError) throw new ProvisionError(msg);
              throw new Error(msg);
            }
            progress.tick(++done);
          }
          progress.done(`${done} users added from ${csv}`);
          return 0;
        }
        const r = await addUser(p, {
          address: one(),
          password: passwordFrom(flag),
          mailHost: flag('--mailhost'),
          aliases: list('--alias'),
          forwards: list('--forward'),
          quotaMB: quota(flag('--quota'), '--quota: '),
          givenName: flag('--given-name'),
          sn: flag('--surname'),
        });
        out.write(`user ${r.address} added (uid ${r.uid}, uidNumber ${r.uidNumber}${r.mailHost ? `, mail store ${r.mailHost}` : ''})\n`);
        if (r.password) out.write(`password: ${r.password}\n`);
        return 0;
      }
      case 'del': {
        const r = await deleteUser(p, one());
        out.write(`user ${r.address} deleted\n`);
        return 0;
      }
      case 'passwd': {
        const r = await setPassword(p, one(), passwordFrom(flag));
        out.write(`password of ${args[0]} changed\n`);
        if (r.password) out.write(`password: ${r.password}\n`);
        return 0;
      }
      case 'show': {
        const e = findUser(p, one());
        out.write(`dn: ${e.dn}\n`);
        for (const [k, vs] of Object.entries(e.attributes)) for (const v of vs) out.write(`${k}: ${v}\n`);
        return 0;
      }
      default:
        throw new UsageError('expected: user add|del|passwd|show (see ispd user --help)');
    }
  });
}
