import { connect } from 'node:net';

/** Node checks request timeouts every 30 s (its connectionsCheckingInterval), so a cut comes late. */
export const NODE_TIMEOUT_CHECK_MS = 30_000;

export interface Drip {
  startedAt: number;
  /** Resolves with the milliseconds from the first byte to the server closing the socket. */
  closedAfterMs: Promise<number>;
  /** What the server sent back (a 408 status line when it timed the request out). */
  answer(): string;
  stop(): void;
}

/** A slowloris client: sends a header line every second and never ends its headers. */
export function startDrip(url: string): Drip {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const startedAt = performance.now();
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
  socket.on('error', () => undefined);
  socket.write('GET /health/live HTTP/1.1\r\nHost: drip\r\n');
  let n = 0;
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(`X-Drip-${n++}: x\r\n`);
  }, 1000);
  const closedAfterMs = new Promise<number>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve(performance.now() - startedAt);
    }),
  );
  return {
    startedAt,
    closedAfterMs,
    answer: () => answer,
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}
