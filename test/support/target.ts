import { startIspd } from './ispd-process';
import { startSlapd } from './slapd-process';

/**
 * The LDAP server an interop test talks to. The committed tests run against ispd; setting
 * ISPD_TEST_TARGET=slapd runs the same tests against OpenLDAP on the same LDIF, which is how
 * they were checked to expect what the reference server does.
 */
export type TargetKind = 'ispd' | 'slapd';

export interface LdapTarget {
  kind: TargetKind;
  ldapUrl: string;
  ldapPort: number;
  /** ispd's store file (ispd targets only). */
  dbFile?: string;
  stop(): Promise<void>;
}

export function targetKind(): TargetKind {
  const requested = process.env.ISPD_TEST_TARGET ?? 'ispd';
  if (requested !== 'ispd' && requested !== 'slapd') throw new Error(`ISPD_TEST_TARGET must be ispd or slapd, not ${requested}`);
  return requested;
}

/**
 * ispd configured the way ISPMan deploys slapd (ispman-model §7.3): anonymous clients read everything
 * but userPassword, since Postfix, nslcd and Dovecot's DN lookup bind anonymously. The slapd target
 * carries the same ACL (slapd-process.ts).
 */
export const ISPMAN_LIKE_FLAGS = ['--set', 'ldap.anonymousRead=true'];

/** Starts the selected server on the demo data (or `ldif`). */
export async function startTarget(options: { ldif?: string } = {}): Promise<LdapTarget> {
  return targetKind() === 'slapd' ? startSlapd({ ldif: options.ldif }) : startIspd({ ldif: options.ldif, config: ISPMAN_LIKE_FLAGS });
}
