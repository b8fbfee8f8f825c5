// DNS correctness for the benchmark: the answer each server gives to a query, reduced to what must agree
// (rcode, the answer RRset without TTLs, and for negative answers the SOA in authority), compared with the
// answer the dataset model says is right. Uses dns2's wire codec (not ispd's own) to decode answers.

import * as dgram from 'node:dgram';
import { SOA_SERIAL, bindTimeSeconds, domainAddresses, domainName, MAIL_EXCHANGERS, NAMESERVERS, SOA_TIMES } from './generate';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { Packet } = require('dns2') as { Packet: any };

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
const TYPE_NAMES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 15: 'MX', 28: 'AAAA', 16: 'TXT' };

export interface DnsOutcome {
  rcode: string;
  answers: string[];
  negativeSoa: boolean;
}

function abs(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

/** One record as comparable text; the SOA serial is left out: ispd owns serials (design §7). */
function recordText(record: any): string {
  const owner = abs(record.name);
  const type = TYPE_NAMES[record.type] ?? String(record.type);
  switch (record.type) {
    case 1:
      return `${owner} A ${record.address}`;
    case 2:
      return `${owner} NS ${abs(record.ns)}`;
    case 5:
      return `${owner} CNAME ${abs(record.domain)}`;
    case 15:
      return `${owner} MX ${record.priority} ${abs(record.exchange)}`;
    case 6:
      return `${owner} SOA ${abs(record.primary)} ${abs(record.admin)} ${record.refresh} ${record.retry} ${record.expiration} ${record.minimum}`;
    default:
      return `${owner} ${type} ?`;
  }
}

let nextId = 1;

/** One UDP query; resolves to the reduced outcome, or rejects after `timeoutMs`. */
export function queryOutcome(port: number, name: string, type: string, timeoutMs = 2000): Promise<DnsOutcome> {
  const id = (nextId = (nextId + 1) & 0xffff) || 1;
  const request = new Packet();
  request.header.id = id;
  request.header.rd = 0;
  request.questions.push({ name, type: Packet.TYPE[type], class: Packet.CLASS.IN });
  const wire: Buffer = request.toBuffer();
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no answer to ${name} ${type} on port ${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('message', (message) => {
      if (message.readUInt16BE(0) !== id) return;
      clearTimeout(timer);
      socket.close();
      try {
        const response = Packet.parse(message);
        resolve({
          rcode: RCODES[response.header.rcode] ?? String(response.header.rcode),
          answers: response.answers.map(recordText).sort(),
          negativeSoa: response.answers.length === 0 && response.authorities.some((r: any) => r.type === 6),
        });
      } catch (error) {
        reject(new Error(`undecodable answer to ${name} ${type}: ${(error as Error).message}`));
      }
    });
    socket.send(wire, port, '127.0.0.1');
  });
}

/** What the dataset says the answer to a query line of dns-queries.txt ("name TYPE") is. */
export function expectedOutcome(name: string, type: string, domains: number): DnsOutcome {
  const labels = name.toLowerCase().split('.');
  const zoneIndexOf = (zone: string): number => Number(/^d(\d{5})-/.exec(zone)?.[1] ?? -1);
  // zones are two labels: d00042-garage.ch
  const zone = labels.slice(-2).join('.');
  const host = labels.slice(0, -2).join('.');
  const index = zoneIndexOf(zone);
  if (index < 0 || index >= domains || domainName(index) !== zone) return { rcode: 'REFUSED', answers: [], negativeSoa: false };
  const { web, mail } = domainAddresses(index);
  const z = `${zone}.`;
  const [refresh, retry, expire, minimum] = SOA_TIMES.split(' ').map(bindTimeSeconds);
  const soa = `${z} SOA ${NAMESERVERS[0]} hostmaster.${z} ${refresh} ${retry} ${expire} ${minimum}`;
  void SOA_SERIAL;
  const names: Record<string, Record<string, string[]>> = {
    '': {
      A: [`${z} A ${web}`],
      NS: NAMESERVERS.map((ns) => `${z} NS ${ns}`),
      MX: MAIL_EXCHANGERS.map((mx) => `${z} MX ${mx}`),
      SOA: [soa],
    },
    www: { A: [`www.${z} A ${web}`] },
    mail: { A: [`mail.${z} A ${mail}`] },
    ftp: { A: [`ftp.${z} CNAME www.${z}`, `www.${z} A ${web}`], CNAME: [`ftp.${z} CNAME www.${z}`] },
  };
  const node = names[host];
  if (!node) return { rcode: 'NXDOMAIN', answers: [], negativeSoa: true };
  const answers = node[type] ?? (host === 'ftp' ? node.A : undefined);
  if (!answers) return { rcode: 'NOERROR', answers: [], negativeSoa: true };
  return { rcode: 'NOERROR', answers: [...answers].sort(), negativeSoa: false };
}

export interface DnsCheckResult {
  server: string;
  checked: number;
  wrong: number;
  examples: string[];
}

/** Asks `server` every query in `lines` (one at a time) and compares each answer with the model. */
export async function checkDnsAnswers(server: string, port: number, lines: string[], domains: number): Promise<DnsCheckResult> {
  const result: DnsCheckResult = { server, checked: 0, wrong: 0, examples: [] };
  for (const line of lines) {
    const [name, type] = line.split(' ');
    const expected = expectedOutcome(name, type, domains);
    let got: DnsOutcome | string;
    try {
      got = await queryOutcome(port, name, type);
    } catch (error) {
      got = (error as Error).message;
    }
    result.checked++;
    const same =
      typeof got !== 'string' &&
      got.rcode === expected.rcode &&
      got.negativeSoa === expected.negativeSoa &&
      JSON.stringify(got.answers) === JSON.stringify(expected.answers);
    if (!same) {
      result.wrong++;
      if (result.examples.length < 5) result.examples.push(`${line}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
    }
  }
  return result;
}
