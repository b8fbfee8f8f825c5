import * as net from 'node:net';
import * as dgram from 'node:dgram';

/** Binds a TCP socket to port 0 on `host`, reads the port the OS chose, and releases it. */
function reserveTcpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('listen(0) returned no port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** True when a UDP socket can bind `port` on `host` right now (DNS listens on UDP and TCP with one port number). */
function udpPortIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

/** Ports handed out by this process, so that two pickers in one test run never return the same port. */
const handedOut = new Set<number>();

/**
 * A port that is free right now on `host` for TCP (and for UDP too when `udp` is set).
 * There is a window between release and the server's own bind; the OS does not reuse a
 * just-released ephemeral port quickly, and the servers report a bind failure loudly.
 */
export async function pickFreePort(options: { host?: string; udp?: boolean } = {}): Promise<number> {
  const host = options.host ?? '127.0.0.1';
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await reserveTcpPort(host);
    if (handedOut.has(port)) continue;
    if (options.udp && !(await udpPortIsFree(host, port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found on ${host} after 50 attempts`);
}

/** Resolves once something accepts TCP connections on host:port, rejects after `timeoutMs`. */
export async function waitForTcpPort(host: string, port: number, timeoutMs: number, isAlive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port });
      socket.setTimeout(1000);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) return;
    if (isAlive && !isAlive()) throw new Error(`process exited before ${host}:${port} accepted connections`);
    if (Date.now() >= deadline) throw new Error(`${host}:${port} did not accept connections within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
