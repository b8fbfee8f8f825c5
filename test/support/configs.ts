import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './server-process';

/** Client configuration templates (Postfix maps, nslcd.conf, PAM service, Dovecot). */
export const INTEROP_CONFIGS_DIR = path.join(REPO_ROOT, 'test', 'interop', 'configs');

/**
 * Reads a template under test/interop/configs and replaces every @NAME@ with vars.NAME.
 * An @NAME@ left without a value is an error, so a template and its test cannot drift apart silently.
 */
export function renderConfig(relativePath: string, vars: Record<string, string | number>): string {
  const text = fs.readFileSync(path.join(INTEROP_CONFIGS_DIR, relativePath), 'utf8');
  return text.replace(/@([A-Z][A-Z0-9_]*)@/g, (placeholder, name: string) => {
    if (!(name in vars)) throw new Error(`${relativePath}: no value for ${placeholder}`);
    return String(vars[name]);
  });
}
