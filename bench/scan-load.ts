// The hostile load of issue 13, as its own process (so its work does not slow the measuring client):
// N connections, each sending the same unindexed subtree search (default (cn=*a*), anonymous) again as soon
// as the previous one is done, reading and discarding the results. Runs until SIGTERM, then prints
// `{"searches":N,"entries":M,"results":{code:count}}` on stdout.
//   node dist/bench/scan-load.js PORT [CONNECTIONS] [FILTER] [BASE]

import * as net from 'node:net';
import { PduFramer } from '../src/ldap/framing';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const ldapjsMessages = require('@ldapjs/messages');

const [portText, connectionsText = '100', filter = '(cn=*a*)', base = 'o=ispman'] = process.argv.slice(2);
const port = Number(portText);
const counts = { searches: 0, entries: 0, results: {} as Record<string, number> };
let messageId = 1;

/** The operation tag and, for a SearchResultDone, its result code (a raw BER walk: no decoding cost). */
function inspect(pdu: Buffer): { tag: number; code?: number } {
  let i = 1;
  const len = (at: number): [number, number] => {
    const first = pdu[at]!;
    if (first < 0x80) return [first, at + 1];
    let n = 0;
    for (let k = 0; k < (first & 0x7f); k++) n = n * 256 + pdu[at + 1 + k]!;
    return [n, at + 1 + (first & 0x7f)];
  };
  [, i] = len(i); // message length
  const [idLen, idAt] = len(i + 1); // messageID INTEGER
  i = idAt + idLen;
  const tag = pdu[i]!;
  if (tag !== 0x65) return { tag };
  const [, opAt] = len(i + 1);
  const [, codeAt] = len(opAt + 1); // ENUMERATED resultCode
  return { tag, code: pdu[codeAt] };
}

function run(): void {
  const socket = net.connect({ host: '127.0.0.1', port });
  const framer = new PduFramer(64 * 1024 * 1024);
  const send = (): void => {
    socket.write(new ldapjsMessages.SearchRequest({ messageId: messageId++, baseObject: base, scope: 'sub', filter, attributes: ['cn'] }).toBer().buffer);
  };
  socket.setNoDelay(true);
  socket.on('connect', send);
  socket.on('data', (chunk: Buffer) => {
    framer.push(chunk);
    for (let pdu = framer.next(); pdu; pdu = framer.next()) {
      const { tag, code } = inspect(pdu);
      if (tag === 0x64) counts.entries++;
      else if (tag === 0x65) {
        counts.searches++;
        counts.results[String(code)] = (counts.results[String(code)] ?? 0) + 1;
        send();
      }
    }
  });
  socket.on('error', () => undefined);
  socket.on('close', () => setTimeout(run, 100).unref());
}

for (let i = 0; i < Number(connectionsText); i++) run();
process.on('SIGTERM', () => {
  process.stdout.write(JSON.stringify(counts) + '\n', () => process.exit(0));
});
