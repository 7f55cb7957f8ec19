import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

const OFF = ['off', 'false', 'no', '0'];

/** API_TRUST_PROXY's text: false for off, else the text as given. */
export function trustProxySetting(value: string): string | false {
  return OFF.includes(value.trim().toLowerCase()) ? false : value;
}

/** Whether API_TRUST_PROXY's text is something compileTrustProxy accepts. */
export function isTrustProxySetting(value: string): boolean {
  try {
    compileTrustProxy(trustProxySetting(value));
    return true;
  } catch {
    return false;
  }
}

export type TrustFunction = (address: string, hop: number) => boolean;

/**
 * API_TRUST_PROXY as Express reads "trust proxy": false (the socket's peer is the client), true,
 * a hop count, or a list of addresses / ranges / names (loopback, uniquelocal, …). Compiled once
 * and given to Express and to the subscription server, so HTTP and WebSocket clients are counted
 * under the same address.
 */
export function compileTrustProxy(setting: string | false): TrustFunction {
  if (setting === false) return () => false;
  const value = setting.trim();
  if (['true', 'on', 'yes'].includes(value.toLowerCase())) return () => true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  return proxyaddr.compile(value.split(',').map((v) => v.trim()));
}

/** The client address of a raw request (the WebSocket upgrade), as Express's req.ip would say. */
export function clientAddress(request: IncomingMessage, trust: TrustFunction): string {
  return proxyaddr(request, trust);
}
