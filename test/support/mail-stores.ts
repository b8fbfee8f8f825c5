// Mail stores for the end-to-end mail tests: one smtp-server (nodemailer's, LMTP mode) per store on a
// loopback port, recording what each one was handed. They stand in for ISPMan's Cyrus stores, which
// Postfix reaches over LMTP (ISPMan's transport map answers lmtp:[<mailHost>]).

import { SMTPServer } from 'smtp-server';
import { pickFreePort } from './ports';

export interface Delivery {
  store: string;
  /** Envelope recipients as Postfix gave them (RCPT TO). */
  recipients: string[];
  /** The message as received, headers and body. */
  message: string;
}

export interface MailStores {
  /** Store name (the mailHost value) → its loopback port. */
  readonly ports: ReadonlyMap<string, number>;
  readonly deliveries: readonly Delivery[];
  /** Deliveries whose message contains `marker`, once `count` of them arrived (rejects after timeoutMs). */
  waitFor(marker: string, count: number, timeoutMs?: number): Promise<Delivery[]>;
  /** Lines for Postfix's texthash table mapping ISPMan's transport answer to the store's port. */
  transportTable(): string;
  stop(): Promise<void>;
}

export async function startMailStores(names: readonly string[]): Promise<MailStores> {
  const deliveries: Delivery[] = [];
  const ports = new Map<string, number>();
  const servers: SMTPServer[] = [];
  try {
    for (const name of names) {
      const port = await pickFreePort();
      const server = new SMTPServer({
        lmtp: true,
        name,
        logger: false,
        authOptional: true,
        disabledCommands: ['AUTH', 'STARTTLS'],
        onData(stream, session, callback) {
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => {
            deliveries.push({ store: name, recipients: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), message: Buffer.concat(chunks).toString('utf8') });
            callback();
          });
        },
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
      servers.push(server);
      ports.set(name, port);
    }
  } catch (error) {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    throw error;
  }
  return {
    ports,
    deliveries,
    async waitFor(marker, count, timeoutMs = 20000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = deliveries.filter((delivery) => delivery.message.includes(marker));
        if (found.length >= count) return found;
        if (Date.now() > deadline) throw new Error(`${found.length} of ${count} deliveries with ${marker} arrived within ${timeoutMs} ms: ${JSON.stringify(found.map((d) => [d.store, d.recipients]))}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    transportTable: () => [...ports].map(([name, port]) => `lmtp:[${name}] lmtp:[127.0.0.1]:${port}`).join('\n') + '\n',
    stop: () => Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))).then(() => undefined),
  };
}
