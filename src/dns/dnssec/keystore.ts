// DNSSEC keys kept in the directory: the per-zone switch, key generation, and the rollover steps, as directory
// writes (so they reach every DNS process through the change log like any other write). Used by `ispd dnssec`.
//
// Rollovers (RFC 6781 §4.1): a ZSK by pre-publication (publish the new key; after the DNSKEY TTL sign with it and
// retire the old one; after the zone's largest TTL remove the old one), a KSK by double-DS (the new key's DS goes to
// the parent next to the old one, announced by CDS; after the parent's DS TTL the new key replaces the old one
// in the DNSKEY set). Each step refuses to run before its wait is over, unless forced.

import type { DirectoryService } from '../../directory/operations';
import { SYSTEM_CONTEXT } from '../../directory/operations';
import { SCAN_PAUSE, type Entry } from '../../directory/types';
import { absoluteText, canonicalName } from '../name';
import { rdataText } from '../rdata';
import { AlgorithmNumber, dnskeyRdata, dsRdata, generateKey, keyTag, KSK_FLAGS, ZSK_FLAGS } from './keys';
import { DNSSEC_CONTAINER_RDN, DnssecKeyRecord, generalizedTime, KEY_CLASS, KeyState, PRIVATE_KEY_ATTRIBUTE, readDnssecConfigs, ZONE_CLASS, ZoneDnssecConfig } from './model';

type KeyDirectory = Pick<DirectoryService, 'search' | 'add' | 'modify' | 'delete' | 'exists'>;

export interface StepResult {
  /** What was done, for the operator. */
  done: string;
  /** What to do next, and when. */
  next: string;
}

export class RolloverTooEarly extends Error {}

export class DnssecKeyStore {
  constructor(
    private readonly dir: KeyDirectory,
    private readonly baseDN: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private containerDn(): string {
    return `${DNSSEC_CONTAINER_RDN},${this.baseDN}`;
  }

  zoneDn(zone: string): string {
    return `ispdDnssecZone=${canonicalName(zone)},${this.containerDn()}`;
  }

  /** The zone's DNSSEC configuration as stored, or undefined when it has none. */
  read(zone: string): ZoneDnssecConfig | undefined {
    const origin = canonicalName(zone);
    if (!this.dir.exists(this.zoneDn(origin))) return undefined;
    const entries: Entry[] = [];
    const out = this.dir.search(
      { base: this.zoneDn(origin), scope: 'sub', filter: { type: 'present', attribute: 'objectClass' }, attributes: ['*'], typesOnly: false, sizeLimit: 0, timeLimit: 0 },
      SYSTEM_CONTEXT,
    );
    for (const e of out.entries) if (e !== SCAN_PAUSE) entries.push(e);
    return readDnssecConfigs(entries).get(origin);
  }

  /** Switches signing on, creating a KSK and a ZSK (algorithm 13 unless asked) when the zone has no active keys. */
  async enable(zone: string, algorithm?: AlgorithmNumber): Promise<ZoneDnssecConfig> {
    const origin = canonicalName(zone);
    if (!this.dir.exists(this.containerDn())) await this.dir.add(this.containerDn(), { objectClass: ['top', 'organizationalUnit'], ou: ['dnssec'] }, SYSTEM_CONTEXT);
    const existing = this.read(origin);
    const alg = algorithm ?? existing?.algorithm ?? 13;
    if (!existing) {
      await this.dir.add(this.zoneDn(origin), { objectClass: ['top', ZONE_CLASS], ispdDnssecZone: [origin], ispdDnssecEnabled: ['FALSE'], ispdDnssecAlgorithm: [String(alg)] }, SYSTEM_CONTEXT);
    }
    const keys = existing?.keys ?? [];
    if (algorithm !== undefined && keys.some((k) => k.algorithm !== algorithm && k.state === 'active')) {
      throw new Error(`${origin} already has active algorithm ${keys.find((k) => k.state === 'active')!.algorithm} keys (an algorithm rollover is not supported; disable, remove the DS, then enable again)`);
    }
    if (!keys.some((k) => k.ksk && k.state === 'active')) await this.addKey(origin, true, alg, 'active');
    if (!keys.some((k) => !k.ksk && k.state === 'active')) await this.addKey(origin, false, alg, 'active');
    // The switch last: the zone is signed from the first version that has both keys.
    await this.dir.modify(this.zoneDn(origin), [
      { operation: 'replace', attribute: 'ispdDnssecEnabled', values: ['TRUE'] },
      { operation: 'replace', attribute: 'ispdDnssecAlgorithm', values: [String(alg)] },
    ], SYSTEM_CONTEXT);
    return this.read(origin)!;
  }

  /** Switches signing off (the keys stay, so enabling again keeps the DS the parent has). */
  async disable(zone: string): Promise<boolean> {
    const origin = canonicalName(zone);
    if (!this.read(origin)) return false;
    await this.dir.modify(this.zoneDn(origin), [{ operation: 'replace', attribute: 'ispdDnssecEnabled', values: ['FALSE'] }], SYSTEM_CONTEXT);
    return true;
  }

  private async addKey(zone: string, ksk: boolean, algorithm: AlgorithmNumber, state: KeyState): Promise<string> {
    const { publicKey, privateKey } = generateKey(algorithm);
    const flags = ksk ? KSK_FLAGS : ZSK_FLAGS;
    const tag = keyTag(dnskeyRdata(flags, algorithm, publicKey));
    const now = this.now();
    const id = `${ksk ? 'ksk' : 'zsk'}-${tag}-${generalizedTime(now).slice(0, 14)}`;
    await this.dir.add(`ispdDnssecKeyId=${id},${this.zoneDn(zone)}`, {
      objectClass: ['top', KEY_CLASS],
      ispdDnssecKeyId: [id],
      ispdDnssecZone: [zone],
      ispdDnssecKeyFlags: [String(flags)],
      ispdDnssecAlgorithm: [String(algorithm)],
      ispdDnssecPublicKey: [publicKey.toString('base64')],
      [PRIVATE_KEY_ATTRIBUTE]: [privateKey.toString('base64')],
      ispdDnssecKeyState: [state],
      ispdDnssecKeyChanged: [generalizedTime(now)],
    }, SYSTEM_CONTEXT);
    return id;
  }

  private async setState(key: DnssecKeyRecord, state: KeyState): Promise<void> {
    await this.dir.modify(key.dn, [
      { operation: 'replace', attribute: 'ispdDnssecKeyState', values: [state] },
      { operation: 'replace', attribute: 'ispdDnssecKeyChanged', values: [generalizedTime(this.now())] },
    ], SYSTEM_CONTEXT);
  }

  private checkWait(key: DnssecKeyRecord, waitSeconds: number, force: boolean, what: string): void {
    if (force || !key.changed) return;
    const left = key.changed.getTime() / 1000 + waitSeconds - this.now().getTime() / 1000;
    if (left > 0) throw new RolloverTooEarly(`${what}: wait ${Math.ceil(left)} s more (until caches have the previous step), or --force`);
  }

  /**
   * One step of a ZSK pre-publish rollover. `dnskeyTtl`: how long the new key must be published before it
   * signs; `maxTtl`: how long the old key stays published after it stopped signing.
   */
  async rollZsk(zone: string, opts: { dnskeyTtl: number; maxTtl: number; force?: boolean }): Promise<StepResult> {
    const config = this.requireEnabled(zone);
    const zsks = config.keys.filter((k) => !k.ksk);
    const retired = zsks.find((k) => k.state === 'retired');
    const published = zsks.find((k) => k.state === 'published');
    if (retired) {
      this.checkWait(retired, opts.maxTtl, opts.force === true, 'removing the retired ZSK');
      await this.dir.delete(retired.dn, SYSTEM_CONTEXT);
      return { done: `removed the retired ZSK ${this.tagOf(retired)}`, next: 'ZSK rollover complete' };
    }
    if (published) {
      this.checkWait(published, opts.dnskeyTtl, opts.force === true, 'activating the new ZSK');
      for (const old of zsks.filter((k) => k.state === 'active')) await this.setState(old, 'retired');
      await this.setState(published, 'active');
      return { done: `ZSK ${this.tagOf(published)} now signs; the old one stays published`, next: `run again after ${opts.maxTtl} s to remove the old ZSK` };
    }
    const id = await this.addKey(config.zone, false, config.algorithm, 'published');
    return { done: `new ZSK published (${id}), not yet signing`, next: `run again after ${opts.dnskeyTtl} s (the DNSKEY TTL) to sign with it` };
  }

  /** One step of a KSK double-DS rollover. `dsTtl`: the parent's DS TTL (how long the new DS needs to be seen). */
  async rollKsk(zone: string, opts: { dsTtl: number; force?: boolean }): Promise<StepResult> {
    const config = this.requireEnabled(zone);
    const standby = config.keys.find((k) => k.ksk && k.state === 'standby');
    if (standby) {
      this.checkWait(standby, opts.dsTtl, opts.force === true, 'switching to the new KSK');
      await this.setState(standby, 'active');
      for (const old of config.keys.filter((k) => k.ksk && k.state === 'active')) await this.dir.delete(old.dn, SYSTEM_CONTEXT);
      return { done: `KSK ${this.tagOf(standby)} now signs the DNSKEY set; the old KSK is gone`, next: 'remove the old DS at the parent (CDS now lists the new key only)' };
    }
    const id = await this.addKey(config.zone, true, config.algorithm, 'standby');
    return { done: `new KSK created (${id}); its DS is published as CDS next to the current one`, next: `add its DS at the parent (ispd dnssec ds), then run again after the parent's DS TTL (${opts.dsTtl} s)` };
  }

  private requireEnabled(zone: string): ZoneDnssecConfig {
    const config = this.read(zone);
    if (!config?.enabled) throw new Error(`DNSSEC is not enabled for ${canonicalName(zone)}`);
    return config;
  }

  private tagOf(k: DnssecKeyRecord): number {
    return keyTag(dnskeyRdata(k.ksk ? KSK_FLAGS : ZSK_FLAGS, k.algorithm, k.publicKey));
  }
}

/** DS records (SHA-256) of the zone's KSKs that the parent should hold: the active one and a standby one. */
export function dsLines(config: ZoneDnssecConfig): string[] {
  return config.keys
    .filter((k) => k.ksk && (k.state === 'active' || k.state === 'standby'))
    .map((k) => `${absoluteText(config.zone)}\tIN\tDS\t${rdataText(dsRdata(config.zone, dnskeyRdata(KSK_FLAGS, k.algorithm, k.publicKey)))}`);
}

/** One line per key: role, tag, algorithm, state, since when. Never the private key. */
export function statusLines(config: ZoneDnssecConfig): string[] {
  const lines = [`zone ${config.zone}: signing ${config.enabled ? 'enabled' : 'disabled'}, algorithm ${config.algorithm}`];
  for (const k of config.keys) {
    const tag = keyTag(dnskeyRdata(k.ksk ? KSK_FLAGS : ZSK_FLAGS, k.algorithm, k.publicKey));
    lines.push(`  ${k.ksk ? 'KSK' : 'ZSK'} ${String(tag).padStart(5)} alg ${k.algorithm} ${k.state.padEnd(9)} since ${k.changed?.toISOString() ?? '?'}${k.privateKey ? '' : ' (no private key)'}`);
  }
  return lines;
}
