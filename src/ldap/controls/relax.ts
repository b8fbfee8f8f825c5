// The Relax Rules control (draft-zeilenga-ldap-relax, OID 1.3.6.1.4.1.4203.666.5.12; OpenLDAP's
// `ldapmodify -e relax`). It asks the server to let an update through that the schema rules would
// refuse: here, the object class checks, so that entries imported with `import --relaxed` (the
// article's ou=dnsdata records, which have no structural class) can still be changed. Whether the
// requester may relax anything is the directory's decision (administrators only); this file only reads
// the request.

import type { LdapRequest } from '../types';
import { ControlValueError, findControl, OID } from './index';

/** Whether an update request carries the Relax Rules control; a control with a value is malformed (the draft defines none). */
export function relaxRequested(request: LdapRequest): boolean {
  const control = findControl(request, OID.relaxRules);
  if (!control) return false;
  if (control.value !== undefined && control.value.length > 0) throw new ControlValueError('the Relax Rules control takes no value');
  return true;
}
