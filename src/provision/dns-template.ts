// The DNS records a new primary domain starts with, from a template an operator changes in the
// configuration (provision.dnsTemplate), like ISPMan's templates/domain.dnszone.ldif.template with its
// primaryDNS/secondaryDNS/primaryMX variables. One template line is one record in master-file order:
//
//     owner TYPE value          e.g.   @ MX 10 mx1.isp.example.     www A ${webaddress}
//
// Variables: ${domain}, ${webaddress} (the web server's address), ${mailhost} (the domain's default
// mail store, or the first MX target when none). Other record producers (DKIM, DMARC, MTA-STS …) add
// theirs through RecordSource functions passed to domainRecords(): domain add publishes all of them in
// the same transaction as the domain.

export const RECORD_TYPES = ['SOA', 'NS', 'MX', 'A', 'AAAA', 'CNAME', 'TXT'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** One record to publish: owner relative to the zone ('@' = apex), value as ISPMan stores it. */
export interface RecordSpec {
  owner: string;
  type: RecordType;
  value: string;
}

export interface TemplateVars {
  domain: string;
  webaddress: string;
  mailhost?: string;
}

/**
 * ISPMan's defaults (SOA 3H 30M 1W 1D, two NS, two MX) plus what a hosted domain needs on day one: A for
 * the apex and www, CNAMEs ftp and mail, an SPF policy naming the MX hosts. The SOA line has no serial:
 * ispd writes the initial one and owns it from then on. Host names under isp.example are placeholders
 * (RFC 2606) an operator replaces with the ISP's own.
 */
export const DEFAULT_DNS_TEMPLATE: readonly string[] = [
  '@ SOA ns1.isp.example. hostmaster.isp.example. 3H 30M 1W 1D',
  '@ NS ns1.isp.example.',
  '@ NS ns2.isp.example.',
  '@ MX 10 mx1.isp.example.',
  '@ MX 20 mx2.isp.example.',
  '@ A ${webaddress}',
  'www A ${webaddress}',
  'ftp CNAME www',
  'mail CNAME mx1.isp.example.',
  '@ TXT "v=spf1 mx -all"',
];

/** Produces extra records for a new domain (DKIM keys, DMARC policy …), published with the template's. */
export type RecordSource = (vars: TemplateVars) => RecordSpec[];

/** Parses one template line; throws an Error naming the line when it is not `owner TYPE value`. */
export function parseTemplateLine(line: string): RecordSpec {
  const m = /^\s*(\S+)\s+([A-Za-z]+)\s+(.+?)\s*$/.exec(line);
  if (!m) throw new Error(`DNS template line "${line}" is not "owner TYPE value"`);
  const type = m[2].toUpperCase() as RecordType;
  if (!RECORD_TYPES.includes(type)) throw new Error(`DNS template line "${line}": type ${m[2]} is not one of ${RECORD_TYPES.join(', ')}`);
  let value = m[3];
  // TXT values are stored unquoted (ISPMan writes them so; the exporter quotes them).
  if (type === 'TXT' && value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  return { owner: m[1], type, value };
}

/** Checks a whole template (config validation): every line parses, one SOA, at least one NS. */
export function checkTemplate(lines: readonly string[]): void {
  const records = lines.map(parseTemplateLine);
  if (records.filter((r) => r.type === 'SOA').length !== 1) throw new Error('the DNS template needs exactly one SOA line');
  if (!records.some((r) => r.type === 'NS')) throw new Error('the DNS template needs at least one NS line');
  for (const r of records) {
    const unknown = /\$\{(?!domain\}|webaddress\}|mailhost\})[^}]*\}/.exec(r.value);
    if (unknown) throw new Error(`DNS template line "${r.owner} ${r.type} ${r.value}": unknown variable ${unknown[0]} (known: \${domain}, \${webaddress}, \${mailhost})`);
  }
}

/** The records of a new domain: the template with its variables filled in, then every extra source's. */
export function domainRecords(template: readonly string[], vars: TemplateVars, sources: readonly RecordSource[] = []): RecordSpec[] {
  const records = template.map(parseTemplateLine);
  const firstMx = records.find((r) => r.type === 'MX')?.value.split(/\s+/)[1];
  const fill = (text: string) =>
    text.replace(/\$\{(domain|webaddress|mailhost)\}/g, (_, name: string) => {
      if (name === 'domain') return vars.domain;
      if (name === 'webaddress') return vars.webaddress;
      return vars.mailhost ?? firstMx?.replace(/\.$/, '') ?? vars.domain;
    });
  const out = records.map((r) => ({ owner: fill(r.owner), type: r.type, value: fill(r.value) }));
  for (const source of sources) out.push(...source(vars));
  return out;
}
