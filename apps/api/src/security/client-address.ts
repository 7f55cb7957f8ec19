import { isIPv6 } from 'node:net';

/** What the limits need of a request: Express's `ip` (honours "trust proxy") or the socket's peer. */
export interface ClientRequest {
  ip?: string;
  socket?: { remoteAddress?: string };
}

/**
 * The key a client is counted under. An IPv6 client usually owns a whole /64, so it is counted by
 * that prefix; otherwise each address of it would get a fresh allowance.
 */
export function clientKey(req: ClientRequest): string {
  const address = req.ip ?? req.socket?.remoteAddress ?? 'unknown';
  if (!isIPv6(address) || address.startsWith('::ffff:')) return address.replace(/^::ffff:/, '');
  const groups = expandIPv6(address);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head, tail = ''] = address.split('%')[0].split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  return [...left, ...Array<string>(Math.max(0, missing)).fill('0'), ...right];
}
