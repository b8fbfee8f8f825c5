// The mail farm: the mail stores users are spread over. Listed in the configuration (provision.mailStores)
// or, as ISPMan keeps them, as the members of ispmanHostGroupName=mailstoregroup,ou=hostgroups (each a host
// of ou=hosts). A new user goes to the store with the fewest users unless one is named.

import { escapeFilterValue } from '../directory/filter';
import { ProvisionError } from './errors';
import { first, type Provisioner, values } from './provisioner';

export interface StoreLoad {
  store: string;
  users: number;
}

/** The stores, in the order configured (ties in load go to the first). */
export function mailStores(p: Provisioner): string[] {
  if (p.settings.mailStores.length > 0) return [...p.settings.mailStores];
  const group = p.get(`ispmanHostGroupName=mailstoregroup,ou=hostgroups,${p.base}`, ['ispmanHostGroupMember']);
  return values(group, 'ispmanHostGroupMember').map((h) => h.toLowerCase());
}

/** Users per store (mailHost), every store listed even when empty; users on hosts outside the farm too. */
export function storeLoads(p: Provisioner): StoreLoad[] {
  const counts = new Map<string, number>(mailStores(p).map((s) => [s, 0]));
  for (const e of p.find(p.base, 'sub', '(&(objectClass=ispmanDomainUser)(mailHost=*))', ['mailHost'])) {
    const host = first(e, 'mailHost')!.toLowerCase();
    counts.set(host, (counts.get(host) ?? 0) + 1);
  }
  return [...counts].map(([store, users]) => ({ store, users }));
}

/**
 * The store a new user goes to: the named one (which must be in the farm when the farm lists any), else the
 * domain's default maildrop host, else the store with the fewest users; none when there is no farm.
 */
export function chooseStore(p: Provisioner, named: string | undefined, domainDefault: string | undefined, loads?: Map<string, number>): string | undefined {
  const stores = mailStores(p);
  if (named) {
    const host = named.trim().toLowerCase();
    if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(host)) throw new ProvisionError(`invalid mail store "${named}": expected a host name`);
    if (stores.length > 0 && !stores.includes(host)) throw new ProvisionError(`mail store ${host} is not in the mail farm (${stores.join(', ')})`);
    return host;
  }
  if (domainDefault) return domainDefault.toLowerCase();
  if (stores.length === 0) return undefined;
  const load = loads ?? new Map(storeLoads(p).map((l) => [l.store, l.users]));
  let best = stores[0];
  for (const s of stores) if ((load.get(s) ?? 0) < (load.get(best) ?? 0)) best = s;
  return best;
}

/** The number of users of one store (for messages). */
export function usersOn(p: Provisioner, store: string): number {
  return p.find(p.base, 'sub', `(&(objectClass=ispmanDomainUser)(mailHost=${escapeFilterValue(store)}))`, ['1.1']).length;
}
