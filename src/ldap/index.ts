// The LDAP protocol adapter: listeners, connections, operations → Directory.

export { startLdapServer } from './listener';
export type { LdapLogger, LdapObserver, LdapServer, LdapServerOptions, LdapLimits, TlsMaterial } from './types';
export { OID as CONTROL_OID, SUPPORTED_CONTROLS } from './controls';
export { WHO_AM_I_OID, START_TLS_OID, PASSWORD_MODIFY_OID } from './ops/extended';
export { NOTICE_OF_DISCONNECTION_OID } from './codec';
