// Multi-process serving: one primary and N LDAP worker processes sharing the LDAP/LDAPS listeners
// (node:cluster hands each accepted connection to a worker), so LDAP uses every core. Each worker has its own
// SQLite connection (WAL: readers never block each other, writers serialize in SQLite).
//
// Roles:
//  - workers: LDAP and LDAPS, and DNS over UDP on the primary's UDP socket (handed to them over IPC; every
//    process reads the same socket, so the kernel spreads the queries over whichever process is free). Each
//    worker builds its own copy of the zones from the store before it reports ready. After each committed
//    write a worker tells the primary, which relays it to the other workers: every copy re-reads the change
//    log at once.
//  - primary: DNS over UDP too, and everything with state of its own: TCP, AXFR/IXFR history, NOTIFY, and
//    the metrics endpoint, which sums the workers' metrics with its own.
//
// An LDAP write that changed DNS data is answered only when every process answers DNS from the new data
// (a barrier through the primary): the next query after the LDAP response, wherever it lands, sees the change.
//
// Per-process state that stays per worker: the failed-bind throttle counts (each worker counts the binds it
// serves) and the caches, which notice other processes' commits through SQLite's data_version.

import cluster, { type Worker } from 'node:cluster';
import type { Socket as UdpSocket } from 'node:dgram';
import os from 'node:os';
import { AggregatorRegistry } from 'prom-client';

/** One process's metrics as registry.getMetricsAsJSON() gives them. */
type MetricsJson = object[];
import type { Config } from './config/load';
import type { ChangeNotice } from './directory/change-feed';
import type { DnsReplica } from './dns/server';
import { setUdpReading } from './dns/udp-handle';
import type { RunningServer } from './server';

/** Set in a worker's environment when it is to answer DNS over UDP (its zones load before it reports ready). */
const DNS_WORKER_ENV = 'ISPD_CLUSTER_DNS';
/** How long the primary waits for the workers' DNS copies at a barrier, and a worker for the primary (never forever). */
const BARRIER_WAIT_MS = 1000;
const BARRIER_GIVE_UP_MS = 2000;

type Message =
  | { type: 'ispd:ready'; ldap: { host: string; port: number } | null; ldaps: { host: string; port: number } | null }
  | { type: 'ispd:committed'; change: ChangeNotice }
  /** primary → worker, with the UDP socket as the handle. */
  | { type: 'ispd:dns-udp' }
  /** worker → primary: answer when every process serves DNS from what this worker committed so far; primary → worker: the same for its copy. */
  | { type: 'ispd:dns-barrier'; id: number }
  | { type: 'ispd:dns-barrier-done'; id: number }
  /** worker → primary: it stopped (busy) or resumed reading the shared UDP socket while it runs unindexed LDAP searches. */
  | { type: 'ispd:dns-busy'; busy: boolean }
  | { type: 'ispd:metrics-request'; id: number }
  | { type: 'ispd:metrics'; id: number; metrics: MetricsJson }
  | { type: 'ispd:bind-result'; ok: boolean; dn: string; address: string }
  | { type: 'ispd:reload' }
  | { type: 'ispd:shutdown' };

/** How many LDAP worker processes to run: ldap.workers, 0 = one per CPU core; 1 (or one core) = none. */
export function workerCount(config: Config): number {
  const configured = config.ldap.workers;
  const n = configured === 0 ? os.availableParallelism?.() ?? os.cpus().length : configured;
  return n > 1 ? n : 0;
}

export const isWorker = (): boolean => cluster.isWorker;

/** The configuration of one role: the listeners the other role owns are turned off. */
export function roleConfig(config: Config, role: 'primary' | 'worker'): Config {
  if (role === 'worker') {
    return Object.freeze({ ...config, dns: Object.freeze({ ...config.dns, listen: null }), metrics: Object.freeze({ ...config.metrics, listen: null }) }) as Config;
  }
  return Object.freeze({ ...config, ldap: Object.freeze({ ...config.ldap, listen: null }), ldaps: Object.freeze({ ...config.ldaps, listen: null }) }) as Config;
}

export interface WorkerHooks {
  /** Re-reads the configuration and applies it (the primary forwards SIGHUP). */
  reload(): Promise<void>;
  /** Drains and exits. */
  stop(reason: string): Promise<void>;
}

/** Worker side: report readiness and commits to the primary, answer metric requests, obey reload/shutdown. */
export function attachWorker(server: RunningServer, hooks: WorkerHooks): void {
  // The primary can die between the connected check and the write (the channel then fails with EPIPE): with
  // a callback the failure is ours to handle instead of an 'error' event that would end this process. The
  // 'disconnect' that follows drains and stops this worker.
  const send = (m: Message) => {
    if (!process.connected) return;
    process.send!(m, undefined, {}, (err) => {
      if (err) server.logger.debug({ kind: m.type, err: err.message }, 'cluster: the primary is gone; message not sent');
    });
  };
  const directory = server.store.directory;
  // This worker's commits go to the primary, which re-reads the log and passes the notice on (the change feed
  // of each process: src/directory/change-feed.ts).
  directory.changes.subscribe((change) => {
    if (change.origin === 'local') send({ type: 'ispd:committed', change });
  });
  // The value is the number of workers sharing the UDP socket (each applies its share of the RRL rates).
  const udpReaders = Number(process.env[DNS_WORKER_ENV] ?? 0);
  const replica = udpReaders >= 1 ? server.startDnsReplica(udpReaders) : null;
  const barrier = replica ? holdWritesForDns(directory, replica, send) : null;
  // DNS never waits behind LDAP work: while this worker scans, the other processes read the UDP socket.
  if (replica) {
    server.onLdapScanning((busy) => {
      replica.setReading(!busy);
      send({ type: 'ispd:dns-busy', busy });
    });
  }
  // Failed-bind counts are shared: each worker tells the others (through the primary) of the failures and
  // successes it records, so a client spreading its guesses over connections meets the same limits.
  const throttle = server.store.directory.throttle;
  throttle?.onRecorded((o) => send({ type: 'ispd:bind-result', ok: o.ok, dn: o.dn, address: o.address }));
  process.on('message', (m: Message, handle?: unknown) => {
    if (m?.type === 'ispd:committed') {
      // Another worker wrote: read the change log now (synchronously, so a barrier behind this message finds it done).
      replica?.sync();
    } else if (m?.type === 'ispd:dns-udp') {
      // Attached in this tick: nothing reads the socket in this process before the handler is there.
      if (replica && handle) replica.attach(handle as UdpSocket);
    } else if (m?.type === 'ispd:dns-barrier') {
      replica?.sync();
      send({ type: 'ispd:dns-barrier-done', id: m.id });
    } else if (m?.type === 'ispd:dns-barrier-done') {
      barrier?.done(m.id);
    } else if (m?.type === 'ispd:metrics-request') {
      // Without the scrape hooks: store-wide gauges (size, entries) come from the primary alone. The DNS query
      // counts this worker answered are kept aside per packet and handed over now.
      replica?.flushMetrics?.();
      void server.metrics.registry.getMetricsAsJSON().then((metrics) => send({ type: 'ispd:metrics', id: m.id, metrics }));
    } else if (m?.type === 'ispd:bind-result') {
      throttle?.applyPeerOutcome({ ok: m.ok, dn: m.dn, address: m.address });
    } else if (m?.type === 'ispd:reload') {
      void hooks.reload();
    } else if (m?.type === 'ispd:shutdown') {
      void hooks.stop('primary');
    }
  });
  // The primary is gone (crashed or killed): nothing would route connections to us any more. Writes waiting
  // for the DNS barrier are answered (they committed, and this process's copy has them) as the drain begins.
  process.on('disconnect', () => {
    server.logger.warn({}, 'cluster: the primary process is gone; draining and exiting');
    barrier?.releaseAll();
    void hooks.stop('primary gone');
  });
  send({ type: 'ispd:ready', ldap: server.ldapAddress(), ldaps: server.ldapsAddress() });
}

/**
 * Worker side of the write → DNS barrier: each directory write that moved this worker's DNS copy (so it
 * touched zone data) resolves only once the primary reports every process's copy current.
 */
function holdWritesForDns(directory: RunningServer['store']['directory'], replica: DnsReplica, send: (m: Message) => void): { done(id: number): void; releaseAll(): void } {
  let nextId = 1;
  const waiting = new Map<number, () => void>();
  const wait = () =>
    new Promise<void>((resolve) => {
      const id = nextId++;
      const timer = setTimeout(() => finish(), BARRIER_GIVE_UP_MS);
      const finish = () => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve();
      };
      waiting.set(id, finish);
      send({ type: 'ispd:dns-barrier', id });
    });
  // A consumer of the directory's change feed, which the directory awaits before it answers: every write
  // method, present or future, is held the same way (no operation is wrapped or replaced).
  directory.changes.subscribe((change) => {
    if (change.origin !== 'local') return;
    const before = replica.generation();
    replica.sync();
    return replica.generation() !== before ? wait() : undefined;
  });
  return { done: (id) => waiting.get(id)?.(), releaseAll: () => [...waiting.values()].forEach((finish) => finish()) };
}

export interface Workers {
  /** Where the workers' LDAP listeners are (as the first ready worker reports them). */
  ldap: { host: string; port: number } | null;
  ldaps: { host: string; port: number } | null;
  /** Prometheus text of the primary's and all workers' metrics together. */
  scrape(): Promise<string>;
  reload(): void;
  /** Whether LDAP answers: at least one worker listens and the service is not stopping (all did at start). */
  ready(): boolean;
  /** Asks every worker to drain and waits for them to exit (then kills stragglers). */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Primary side: forks `count` workers (they re-run the same command line), waits until all listen, and relays
 * their commits to the primary's directory so DNS follows at once. A worker that dies is replaced.
 */
export async function startWorkers(count: number, primary: RunningServer): Promise<Workers> {
  const log = primary.logger.child({ subsystem: 'cluster' });
  const directory = primary.store.directory;
  let stopping = false;
  let nextId = 1;
  const pendingMetrics = new Map<number, { want: number; got: MetricsJson[]; done: (v: MetricsJson[]) => void }>();
  let ldap: Workers['ldap'] = null;
  let ldaps: Workers['ldaps'] = null;

  /** Workers that reported their listeners up and are still connected. */
  const listening = new Set<Worker>();
  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && w.isConnected());
  /**
   * Every message to a worker goes through here. A worker killed a moment ago still looks connected until
   * its 'disconnect' is processed, and writing to its channel fails with EPIPE: given a callback, node
   * reports that to us instead of raising an 'error' event that would end the primary (and with it LDAP and
   * DNS). The worker's exit, which follows, replaces it.
   */
  const sendTo = (worker: Worker, m: Message, handle?: UdpSocket, sent?: () => void): void => {
    const failed = (err: Error) => {
      primary.metrics.clusterSendFailures.inc({ kind: m.type.replace(/^ispd:/, '') });
      log.warn({ pid: worker.process.pid, kind: m.type, err: err.message }, 'cluster: message to a worker not sent (it is gone)');
    };
    if (!worker.isConnected()) return failed(new Error('channel closed'));
    worker.send(m, handle, (err: Error | null) => (err ? failed(err) : sent?.()));
  };

  const dnsSocket = primary.dnsSocketForWorkers();
  /**
   * Workers that answer DNS on the shared UDP socket. While there is one, the primary stops reading it: a
   * third process contending for the same queue on two cores cost ~15 % of the DNS throughput (bench, dns
   * scenario: 83,600 -> 96,600 qps). It reads again if no worker is left (they are being replaced).
   */
  const udpReaders = new Set<Worker>();
  /** Workers that were handed the socket (a busy one holds it without reading). */
  const udpHolders = new Set<Worker>();
  const countUdpReader = (worker: Worker, reading: boolean) => {
    if (!dnsSocket) return;
    if (reading) udpReaders.add(worker);
    else udpReaders.delete(worker);
    if (!setUdpReading(dnsSocket, udpReaders.size === 0)) log.debug('dns: cannot pause the primary\'s UDP reads (it keeps answering too)');
  };
  /** Barriers in progress: the workers still to confirm, and the answer owed to the worker that asked. */
  const barriers = new Map<number, { waitingFor: Set<Worker>; finish(): void }>();
  let nextBarrier = 1;
  const confirm = (key: number, worker: Worker) => {
    const b = barriers.get(key);
    if (b && b.waitingFor.delete(worker) && b.waitingFor.size === 0) b.finish();
  };

  const onMessage = (worker: Worker, m: Message) => {
    if (m?.type === 'ispd:committed') {
      void directory.changes.publish({ origin: 'peer' });
      if (dnsSocket) for (const w of live()) if (w !== worker) sendTo(w, m);
    } else if (m?.type === 'ispd:dns-barrier') {
      // The 'committed' notices before it are already relayed; the other workers answer after applying them.
      const key = nextBarrier++;
      const others = new Set(live().filter((w) => w !== worker));
      const timer = setTimeout(() => finish(), BARRIER_WAIT_MS);
      const finish = () => {
        clearTimeout(timer);
        barriers.delete(key);
        // Our own copy re-reads in the microtask the committed notice queued: before any query is read.
        if (worker.isConnected()) sendTo(worker, { type: 'ispd:dns-barrier-done', id: m.id });
      };
      barriers.set(key, { waitingFor: others, finish });
      if (others.size === 0) return finish();
      for (const w of others) sendTo(w, { type: 'ispd:dns-barrier', id: key });
    } else if (m?.type === 'ispd:dns-barrier-done') {
      confirm(m.id, worker);
    } else if (m?.type === 'ispd:dns-busy') {
      // A worker busy with scans leaves the socket to the others; with none left reading, the primary reads.
      if (udpHolders.has(worker)) countUdpReader(worker, !m.busy);
    } else if (m?.type === 'ispd:bind-result') {
      for (const w of live()) if (w !== worker) sendTo(w, m);
    } else if (m?.type === 'ispd:metrics') {
      const p = pendingMetrics.get(m.id);
      if (!p) return;
      p.got.push(m.metrics);
      if (p.got.length >= p.want) {
        pendingMetrics.delete(m.id);
        p.done(p.got);
      }
    }
  };
  cluster.on('message', onMessage);
  // Commits by other processes (the primary watches the store for them): every worker's DNS copy re-reads too.
  directory.changes.subscribe((change) => {
    if (change.origin === 'external' && dnsSocket) for (const w of live()) w.send({ type: 'ispd:committed', change } satisfies Message);
  });

  const fork = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork({ ISPD_CLUSTER_WORKER: '1', ...(dnsSocket ? { [DNS_WORKER_ENV]: String(count) } : {}) });
      const onReady = (m: Message) => {
        if (m?.type !== 'ispd:ready') return;
        worker.off('message', onReady);
        ldap ??= m.ldap;
        ldaps ??= m.ldaps;
        listening.add(worker);
        // Its zones are loaded: from now on it answers DNS on our UDP socket too.
        if (dnsSocket) sendTo(worker, { type: 'ispd:dns-udp' }, dnsSocket, () => {
          udpHolders.add(worker);
          countUdpReader(worker, true);
        });
        resolve();
      };
      worker.on('message', onReady);
      // Backstop: an IPC failure not reported through a send callback must not become an unhandled 'error'.
      worker.on('error', (err: Error) => log.warn({ pid: worker.process.pid, err: err.message }, 'cluster: worker channel error'));
      worker.once('exit', (code, signal) => {
        worker.off('message', onReady);
        reject(new Error(`LDAP worker exited before it was ready (code ${code}, signal ${signal})`));
      });
    });

  // A barrier never waits on a worker that cannot answer: it counts as confirmed as soon as its channel closes.
  const gone = (worker: Worker) => {
    for (const key of [...barriers.keys()]) confirm(key, worker);
  };
  cluster.on('disconnect', (worker) => {
    listening.delete(worker);
    gone(worker);
  });
  cluster.on('exit', (worker, code, signal) => {
    udpHolders.delete(worker);
    countUdpReader(worker, false);
    listening.delete(worker);
    gone(worker);
    if (stopping) return;
    primary.metrics.clusterWorkerDeaths.inc({ reason: signal ?? 'exit' });
    log.error({ pid: worker.process.pid, code, signal }, 'LDAP worker died; starting another');
    setTimeout(() => {
      if (!stopping) fork().catch((err) => log.error({ err: (err as Error).message }, 'could not replace an LDAP worker'));
    }, 500).unref();
  });

  await Promise.all(Array.from({ length: count }, fork));
  log.info({ workers: count }, 'LDAP workers listening');


  return {
    ldap,
    ldaps,
    async scrape() {
      const own = await primary.metrics.scrape().then(() => primary.metrics.registry.getMetricsAsJSON());
      const workers = live();
      const id = nextId++;
      const fromWorkers = await new Promise<MetricsJson[]>((resolve) => {
        if (workers.length === 0) return resolve([]);
        const timer = setTimeout(() => {
          const p = pendingMetrics.get(id);
          pendingMetrics.delete(id);
          resolve(p ? p.got : []);
        }, 2000);
        pendingMetrics.set(id, {
          want: workers.length,
          got: [],
          done: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
        });
        for (const w of workers) sendTo(w, { type: 'ispd:metrics-request', id });
      });
      return AggregatorRegistry.aggregate([own, ...fromWorkers]).metrics();
    },
    ready: () => !stopping && listening.size > 0,
    reload() {
      for (const w of live()) sendTo(w, { type: 'ispd:reload' });
    },
    async stop(graceMs = 10_000) {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.isDead()) return resolve();
              const kill = setTimeout(() => w.process.kill('SIGKILL'), graceMs);
              w.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              if (w.isConnected()) sendTo(w, { type: 'ispd:shutdown' });
              else w.process.kill('SIGTERM');
            }),
        ),
      );
      cluster.off('message', onMessage);
    },
  };
}
