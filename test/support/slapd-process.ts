import * as fs from 'node:fs';
import * as path from 'node:path';
import { pickFreePort } from './ports';
import { runClient, describeResult, findProgram } from './clients';
import { DEMO_LDIF, REPO_ROOT, makeTempDir, startServerProcess } from './server-process';

/** ISPMan 1.4's slapd include order (install-data/examples/openldap/slapd.ldapv3.conf.tmpl), then ispd's own schema. */
export const ISPMAN_SCHEMA_ORDER = ['core', 'cosine', 'nis', 'misc', 'inetorgperson', 'dnszone', 'pureftpd', 'ispman', 'RADIUS-LDAPv3'];

export function schemaFiles(extra: string[] = []): string[] {
  const files = ISPMAN_SCHEMA_ORDER.map((name) => path.join(REPO_ROOT, 'schema', `${name}.schema`));
  const ispdSchema = path.join(REPO_ROOT, 'schema', 'ispd.schema');
  if (fs.existsSync(ispdSchema)) files.push(ispdSchema);
  // ISPD_SLAPD_EXTRA_SCHEMA: colon-separated schema files appended for slapd only (e.g. a draft)
  const fromEnv = (process.env.ISPD_SLAPD_EXTRA_SCHEMA ?? '').split(':').filter((file) => file.length > 0);
  return [...files, ...fromEnv, ...extra];
}

export const SLAPD_SUFFIX = 'o=ispman';
/** slapd's rootdn; ispd has no such identity, so tests that must run on both never use it. */
export const SLAPD_ROOT_DN = 'cn=root,o=ispman';
export const SLAPD_ROOT_PASSWORD = 'slapd-root-secret';

/**
 * slapd.conf for the ISPMan directory: back-mdb, pw-sha2 for {SSHA512}, and ISPMan's own ACLs
 * (Debian slapd.conf.acl.appendme): userPassword is `auth` for anonymous and writable by self,
 * everything else readable by anyone — Postfix and nslcd bind anonymously.
 */
export function slapdConfig(dir: string, extraSchema: string[] = []): string {
  const includes = schemaFiles(extraSchema).map((file) => `include ${file}`).join('\n');
  return `${includes}
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
# Postfix tables with version = 2 bind as LDAPv2, which slapd refuses unless told
allow bind_v2
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload pw-sha2
sizelimit 500
database mdb
maxsize 268435456
suffix "${SLAPD_SUFFIX}"
rootdn "${SLAPD_ROOT_DN}"
rootpw ${SLAPD_ROOT_PASSWORD}
directory ${dir}/db
index objectClass eq
index uid,sn,cn pres,eq,sub
index uidNumber,gidNumber pres,eq
index memberUid pres,eq
index mail,mailLocalAddress,mailAlias pres,eq
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by * read
`;
}

export interface SlapdHandle {
  kind: 'slapd';
  ldapUrl: string;
  ldapPort: number;
  dir: string;
  stop(): Promise<void>;
}

/**
 * Starts a real OpenLDAP slapd on the given LDIF (default: the demo data), loaded with slapadd
 * with schema checking on. Used to develop the interop tests against the reference server and by
 * the benchmarks.
 */
export async function startSlapd(options: { ldif?: string; extraSchema?: string[]; startTimeoutMs?: number } = {}): Promise<SlapdHandle> {
  const slapd = findProgram('slapd');
  const slapadd = findProgram('slapadd');
  if (!slapd || !slapadd) throw new Error('slapd/slapadd not installed (Debian package slapd)');
  const dir = makeTempDir('slapd');
  const removeDir = (): void => fs.rmSync(dir, { recursive: true, force: true });
  try {
    fs.mkdirSync(path.join(dir, 'db'));
    const confFile = path.join(dir, 'slapd.conf');
    fs.writeFileSync(confFile, slapdConfig(dir, options.extraSchema));
    const load = await runClient(slapadd, ['-f', confFile, '-l', options.ldif ?? DEMO_LDIF], { timeoutMs: 60000 });
    if (load.code !== 0) throw new Error(`slapadd failed:\n${describeResult(load)}`);
    const ldapPort = await pickFreePort();
    const ldapUrl = `ldap://127.0.0.1:${ldapPort}/`;
    const server = await startServerProcess({
      executable: slapd,
      // -d 0: stay in the foreground so that the test owns the process; no -u: runs as the caller
      args: ['-f', confFile, '-h', ldapUrl, '-d', '0'],
      host: '127.0.0.1',
      port: ldapPort,
      startTimeoutMs: options.startTimeoutMs ?? 15000,
    });
    return {
      kind: 'slapd',
      ldapUrl,
      ldapPort,
      dir,
      stop: async () => {
        await server.stop();
        removeDir();
      },
    };
  } catch (error) {
    removeDir();
    throw error;
  }
}
