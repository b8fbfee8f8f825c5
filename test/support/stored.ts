import { runClient, parseLdif, comparableDn } from './clients';
import { ISPD_CLI } from './ispd-process';

/**
 * The values of one attribute of one entry as ispd stored them, read with `ispd export` from the store file
 * (SQLite WAL lets it read beside the running server). The way to check what userPassword holds: over LDAP
 * it is write-only for everyone.
 */
export async function storedValues(dbFile: string, dn: string, attribute: string): Promise<string[]> {
  const result = await runClient(process.execPath, [ISPD_CLI, 'export', '--db', dbFile], { timeoutMs: 30000 });
  if (result.code !== 0) throw new Error(`ispd export failed (${result.code}): ${result.stderr}`);
  const want = comparableDn(dn);
  const entry = parseLdif(result.stdout).find((e) => comparableDn(e.dn) === want);
  return entry?.attributes.get(attribute.toLowerCase()) ?? [];
}
