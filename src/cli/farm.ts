// `ispd farm status|retry`: users per mail store, and the queue of post-add/post-delete commands.

import { mailStores, pendingJobs, storeLoads } from '../provision';
import { helpRequested, withProvisioner } from './provision-session';
import { UsageError } from './usage';

const USAGE = `usage: ispd farm status     users per mail store, and queued post-add/post-delete commands
       ispd farm retry      run the queued commands now`;

export async function runFarm(argv: string[]): Promise<number> {
  if (helpRequested(argv, USAGE)) return 0;
  return withProvisioner(argv, {}, async ({ p, cl, out }) => {
    const [sub, ...rest] = cl.positionals;
    if (rest.length) throw new UsageError('expected: farm status|retry');
    if (sub === 'status' || sub === undefined) {
      const farm = new Set(mailStores(p));
      if (farm.size === 0) out.write('no mail stores configured (provision.mailStores, or ISPMan\'s mailstoregroup)\n');
      for (const l of storeLoads(p)) out.write(`${l.store}\t${l.users} users${farm.has(l.store) ? '' : '\t(not in the farm)'}\n`);
      const jobs = pendingJobs(p);
      out.write(`queued commands: ${jobs.length}\n`);
      for (const j of jobs) out.write(`  #${j.pid} ${j.status} ${j.user}: ${j.command}${j.message ? ` (${j.message})` : ''}\n`);
      return 0;
    }
    if (sub === 'retry') {
      // withProvisioner runs the queue after every command; retry only reports when there was nothing.
      if (pendingJobs(p).length === 0) out.write('no queued commands\n');
      return 0;
    }
    throw new UsageError('expected: farm status|retry');
  });
}
