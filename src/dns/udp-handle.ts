// Two things a shared UDP socket needs that node:dgram does not offer publicly: pausing this process's reads
// (the primary hands its socket to the workers and lets them read) and sending without the address lookup.
// Node 20 keeps the native handle under the socket's 'state symbol'; when it is not where expected (another
// Node version) these do nothing and say so, and ispd behaves as without them (slower, same answers).

import type { Socket } from 'node:dgram';

interface UdpHandle {
  lookup?: unknown;
  recvStart?(): number;
  recvStop?(): number;
}

function handleOf(udp: Socket): UdpHandle | undefined {
  const stateKey = Object.getOwnPropertySymbols(udp).find((s) => s.description === 'state symbol');
  return stateKey ? (udp as unknown as Record<symbol, { handle?: UdpHandle }>)[stateKey]?.handle : undefined;
}

/**
 * A socket received from another process is rebuilt by Node with the default lookup (the createSocket option
 * cannot be passed). Node 20 keeps it on the internal handle as lookup(address, callback): replace it.
 */
export function skipAddressLookup(udp: Socket): void {
  const handle = handleOf(udp);
  if (handle && typeof handle.lookup === 'function') {
    handle.lookup = (address: string, callback: (err: Error | null, address: string) => void) => callback(null, address);
  }
}

/** Stops or resumes this process's reads on `udp` (it can still send). False when the handle was not found. */
export function setUdpReading(udp: Socket, reading: boolean): boolean {
  const handle = handleOf(udp);
  const op = reading ? handle?.recvStart : handle?.recvStop;
  if (typeof op !== 'function') return false;
  op.call(handle);
  return true;
}
