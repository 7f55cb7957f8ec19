import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import {
  netnsUnavailableReason,
  parseRate,
  SimulatedWan,
  sweepStaleWans,
  type WanSite,
} from '../../scripts/local-stack/netns';

/**
 * The simulated WAN of bench:sites, for real: namespaces, veth pairs and tbf caps (root needed),
 * a TCP transfer through a capped link each way, and the clean-up paths (dispose, a SIGKILLed
 * owner's watchdog, the start-up sweep).
 */

const unavailable = netnsUnavailableReason();
if (unavailable) console.warn(`test/support/netns.spec.ts skipped: ${unavailable}`);

const RATE = '40mbit';
const TRANSFER_SECONDS = 2;

/** A live process, not a zombie waiting for a parent that may never reap it. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function leftoversOf(owner: number): string[] {
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(`scp-bench-${owner}-`));
  const links = readdirSync('/sys/class/net').filter((l) => l.startsWith(`scpb${owner}s`));
  return [...namespaces, ...links];
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** The node program run inside a site's namespace: sends for a while, or receives and reports. */
const PEER = `
const net = require('node:net');
const [host, port, mode, seconds] = process.argv.slice(1);
const socket = net.connect(Number(port), host, () => {
  if (mode !== 'send') return;
  const chunk = Buffer.alloc(64 * 1024, 7);
  const end = Date.now() + Number(seconds) * 1000;
  const pump = () => {
    while (Date.now() < end) if (!socket.write(chunk)) return void socket.once('drain', pump);
    socket.end();
  };
  pump();
});
let bytes = 0, first;
socket.on('data', (c) => { first ??= performance.now(); bytes += c.length; });
socket.on('end', () => {
  if (mode === 'receive') console.log(JSON.stringify({ bytes, seconds: (performance.now() - first) / 1000 }));
  socket.end();
});
`;

/** Goodput of one transfer through `site`'s link, measured by the receiver, in bits per second. */
async function transfer(
  wan: SimulatedWan,
  site: WanSite,
  direction: 'up' | 'down',
): Promise<{ bitsPerSecond: number; bytes: number }> {
  let hostSide: Promise<{ bytes: number; seconds: number }> | undefined;
  const server = createServer((socket: Socket) => {
    hostSide = new Promise((done) => {
      if (direction === 'down') {
        const chunk = Buffer.alloc(64 * 1024, 7);
        const end = Date.now() + TRANSFER_SECONDS * 1000;
        const pump = () => {
          while (Date.now() < end) if (!socket.write(chunk)) return void socket.once('drain', pump);
          socket.end();
        };
        pump();
        socket.resume();
        socket.on('close', () => done({ bytes: 0, seconds: 0 }));
        return;
      }
      let bytes = 0;
      let first = 0;
      socket.on('data', (c: Buffer) => {
        first ||= performance.now();
        bytes += c.length;
      });
      socket.on('end', () => {
        done({ bytes, seconds: (performance.now() - first) / 1000 });
        socket.end();
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, wan.hub, () => r()));
  const { port } = server.address() as AddressInfo;
  const [command, ...prefix] = wan.launcher(site.index);
  const mode = direction === 'up' ? 'send' : 'receive';
  const peer = spawn(
    command,
    [...prefix, process.execPath, '-e', PEER, wan.hub, String(port), mode, String(TRANSFER_SECONDS)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  peer.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((r) => peer.once('exit', r));
  server.close();
  expect(code).toBe(0);
  const measured =
    direction === 'up' ? await hostSide! : (JSON.parse(out) as { bytes: number; seconds: number });
  return { bitsPerSecond: (measured.bytes * 8) / measured.seconds, bytes: measured.bytes };
}

describe.skipIf(unavailable !== null)('SimulatedWan: one namespace per site, capped veth links', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('caps each direction of a site link near the tbf rate, counts its bytes, and disposes of everything', async () => {
    sweepStaleWans();
    const wan = SimulatedWan.create({ sites: 2, rate: RATE });
    try {
      expect(wan.sites.map((s) => s.hostAddress)).toEqual(['10.213.1.1', '10.213.2.1']);
      expect(wan.hub).toBe('10.213.1.1');
      // Site 2 reaches the hub (site 1's host end) through its own link.
      const site = wan.site(2);
      const before = wan.counters(2);
      const up = await transfer(wan, site, 'up');
      const afterUp = wan.counters(2);
      const down = await transfer(wan, site, 'down');
      const afterDown = wan.counters(2);
      const cap = parseRate(RATE);
      expect(up.bitsPerSecond / cap).toBeGreaterThan(0.75);
      expect(up.bitsPerSecond / cap).toBeLessThan(1.25);
      expect(down.bitsPerSecond / cap).toBeGreaterThan(0.75);
      expect(down.bitsPerSecond / cap).toBeLessThan(1.25);
      // The host end's counters see the payload plus TCP/IP and Ethernet headers (a few %).
      const upBytes = afterUp.up - before.up;
      expect(upBytes / up.bytes).toBeGreaterThan(1);
      expect(upBytes / up.bytes).toBeLessThan(1.1);
      const downBytes = afterDown.down - afterUp.down;
      expect(downBytes / down.bytes).toBeGreaterThan(1);
      expect(downBytes / down.bytes).toBeLessThan(1.1);
      // Site 1's link carried none of it.
      expect(wan.counters(1).up).toBeLessThan(10_000);
      // A new cap applies to both ends of every link.
      wan.setRate('7mbit');
      const shown = (args: string[]) => execFileSync('tc', args, { encoding: 'utf8' });
      for (const s of wan.sites) {
        expect(shown(['qdisc', 'show', 'dev', s.hostLink])).toMatch(/tbf .* rate 7Mbit/);
        expect(shown(['-n', s.namespace, 'qdisc', 'show', 'dev', 'wan0'])).toMatch(/tbf .* rate 7Mbit/);
      }
    } finally {
      await wan.dispose();
    }
    expect(leftoversOf(process.pid)).toEqual([]);
  }, 30_000);

  it('leaves nothing behind when its owner is SIGKILLed: the watchdog removes it, else the next sweep', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scp-netns-spec-'));
    dirs.push(dir);
    // The owner is a separate node process running the helper, bundled here from its source.
    const entry = join(dir, 'owner.mjs');
    await build({
      stdin: {
        contents: `
          import { execFileSync, spawn } from 'node:child_process';
          import { SimulatedWan } from ${JSON.stringify(resolve('scripts/local-stack/netns.ts'))};
          const wan = SimulatedWan.create({ sites: 2, rate: '10mbit' });
          const [command, ...prefix] = wan.launcher(2);
          // A process inside a namespace, as a worker would be.
          const inside = spawn(command, [...prefix, 'sleep', '600'], { stdio: 'ignore' });
          console.log(JSON.stringify({ watchdog: wan.watchdogPid, inside: inside.pid }));
          setInterval(() => {}, 1000);
        `,
        resolveDir: process.cwd(),
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: entry,
      logLevel: 'silent',
    });
    const startOwner = async () => {
      const owner = spawn(process.execPath, [entry], { stdio: ['ignore', 'pipe', 'inherit'] });
      const line = await new Promise<string>((r) =>
        owner.stdout.once('data', (c: Buffer) => r(c.toString())),
      );
      const pids = JSON.parse(line) as { watchdog: number; inside: number };
      const exited = new Promise((r) => owner.once('exit', r));
      return { owner, pids, exited };
    };

    // 1. SIGKILL: the watchdog sees its pipe close and removes everything, the sleeper included.
    const first = await startOwner();
    expect(leftoversOf(first.owner.pid!)).toHaveLength(4);
    first.owner.kill('SIGKILL');
    await first.exited;
    expect(await until(() => leftoversOf(first.owner.pid!).length === 0, 10_000)).toBe(true);
    expect(await until(() => !running(first.pids.inside), 5_000)).toBe(true);

    // 2. The watchdog killed as well: everything stays until the sweep of the next run.
    const second = await startOwner();
    process.kill(second.pids.watchdog, 'SIGKILL');
    second.owner.kill('SIGKILL');
    await second.exited;
    await new Promise((r) => setTimeout(r, 500));
    const left = leftoversOf(second.owner.pid!);
    expect(left).toHaveLength(4);
    expect(running(second.pids.inside)).toBe(true);
    expect(sweepStaleWans().sort()).toEqual([...left].sort());
    expect(leftoversOf(second.owner.pid!)).toEqual([]);
    expect(await until(() => !running(second.pids.inside), 5_000)).toBe(true);
  }, 60_000);

  it('refuses a rate tc would not read, naming it', () => {
    expect(() => parseRate('100 Mbps')).toThrow(/rate "100 Mbps": expected a number followed by bit, kbit/);
    expect(parseRate('20mbit')).toBe(20e6);
  });
});
