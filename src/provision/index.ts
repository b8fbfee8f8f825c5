// The provisioning library (ISPMan 1.4's workflows as directory writes), used by the CLI's domain, user,
// alias, forward, vhost and farm commands. Every operation is one writeBatch on the DirectoryService, run
// as an ISPMan admin, so it passes the ACL and schema checks an LDAP client's writes pass.

import type { Config } from '../config/load';
import type { DirectoryService } from '../directory/operations';
import { Provisioner, type ProvisionSettings } from './provisioner';

export * from './domains';
export * from './users';
export * from './vhosts';
export * from './farm';
export * from './jobs';
export { ProvisionError } from './errors';
export { createUid, normalizeDomain, parseAddress } from './names';
export { DEFAULT_DNS_TEMPLATE, type RecordSource, type RecordSpec } from './dns-template';
export { Provisioner, type ProvisionSettings } from './provisioner';

/** The provisioning settings of a configuration (the provision.* options). */
export function settingsFromConfig(config: Config): ProvisionSettings {
  const p = config.provision;
  return {
    baseDN: config.baseDN,
    adminDN: p.admin ?? `uid=ispman,ou=admins,${config.baseDN}`,
    homeDirectory: p.homeDirectory,
    loginShell: p.loginShell,
    mailQuotaMB: p.mailQuota,
    virtDomains: p.virtDomains,
    webAddress: p.webAddress,
    dnsTemplate: p.dnsTemplate,
    mailStores: p.mailStores,
    postAdd: p.postAdd,
    postDelete: p.postDelete,
    serialFormat: config.dns.serialFormat,
  };
}

export function createProvisioner(directory: DirectoryService, config: Config): Provisioner {
  return new Provisioner(directory, settingsFromConfig(config));
}
