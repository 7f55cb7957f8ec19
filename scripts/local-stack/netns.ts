import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * A simulated wide-area network for `npm run bench:sites`: one Linux network namespace per
 * site, joined to the host by a veth pair whose two ends are both capped by a token bucket
 * (`tc ... tbf`: netem is not available on these machines), so a site's uploads and downloads
 * each get the given rate.
 *
 * Addressing (only addresses of links this module creates): site i (1-based) owns the /24
 * <net>.<i>.0, the host end of its veth is <net>.<i>.1 and the site's end (`wan0`, inside the
 * namespace) <net>.<i>.2, with a default route through the host end. The central services
 * listen on ONE address, the hub: the host end of site 1 (<net>.1.1). Every site reaches it
 * through its own veth, because Linux delivers a packet to any of the host's own addresses
 * whatever interface it arrives on, so no forwarding, NAT or sysctl change is needed; the host
 * reaches it locally (through loopback, uncapped). One hub address matters because presigned
 * object-store URLs name a single host, which every worker must reach.
 *
 * Clean-up on every exit path: `dispose()` (a `finally`), a synchronous `exit` handler (a
 * crash that ends in process.exit), and a watchdog (a detached `sh`) that holds a pipe from this
 * process and removes everything when the pipe closes, i.e. also after a SIGKILL. What escapes
 * all three (the watchdog killed too) is removed by `sweepStaleWans()`, which the bench runs at
 * start: namespaces and links whose owner process is gone.
 */

const NAMESPACE = /^scp-bench-(\d+)-(\d+)$/;
const HOST_LINK = /^scpb(\d+)s(\d+)$/;
const SITE_LINK = 'wan0';

export interface WanOptions {
  sites: number;
  /** tc rate of each direction of each site's link, e.g. 100mbit. */
  rate: string;
  /** tc tbf burst (default 32kbit). */
  burst?: string;
  /** tc tbf latency: how long a packet may queue before it is dropped (default 400ms). */
  latency?: string;
  /** First two octets of the sites' networks (default 10.213): site i owns <net>.<i>.0/24. */
  net?: string;
}

export interface WanSite {
  /** 1-based. */
  index: number;
  namespace: string;
  /** The host end of the veth pair (its counters are the site's traffic). */
  hostLink: string;
  hostAddress: string;
  siteAddress: string;
}

export interface LinkCounters {
  /** Bytes from the site to the host (the host end's rx_bytes). */
  up: number;
  /** Bytes from the host to the site (the host end's tx_bytes). */
  down: number;
}

const namespaceName = (owner: number, i: number) => `scp-bench-${owner}-${i}`;
// Interface names stop at 15 characters: 4 + a pid (at most 7 digits) + 1 + the site number.
const hostLinkName = (owner: number, i: number) => `scpb${owner}s${i}`;

/** Bits per second of a tc rate such as 100mbit, 20Mbit, 1gbit or 500kbit; throws if not one. */
export function parseRate(rate: string): number {
  const m = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)$/i.exec(rate.trim());
  if (!m || Number(m[1]) <= 0) {
    throw new Error(`rate "${rate}": expected a number followed by bit, kbit, mbit or gbit (e.g. 100mbit)`);
  }
  const unit = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 }[m[2].toLowerCase() as 'bit'];
  return Number(m[1]) * unit;
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command that may fail because what it removes is gone already. */
function quietly(command: string, args: string[]): void {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
  } catch {
    // already removed
  }
}

function listNamespaces(): string[] {
  return ip(['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => name !== '');
}

function listLinks(): string[] {
  return readdirSync('/sys/class/net');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the namespaces and host links of `owner`'s WAN, killing (SIGKILL, by pid) any process
 * still inside one of its namespaces: those are workers it started. Returns what it removed.
 */
function removeWanOf(owner: number): string[] {
  const mine = (pattern: RegExp) => (name: string) => Number(pattern.exec(name)?.[1]) === owner;
  const namespaces = listNamespaces().filter(mine(NAMESPACE));
  const links = listLinks().filter(mine(HOST_LINK));
  for (const ns of namespaces) {
    let pids: string[] = [];
    try {
      pids = ip(['netns', 'pids', ns]).split('\n').filter(Boolean);
    } catch {
      // gone meanwhile
    }
    for (const pid of pids) quietly('kill', ['-9', pid]);
    quietly('ip', ['netns', 'del', ns]);
  }
  // Deleting a namespace deletes its veth end, and with it the pair, but only once no process
  // holds the namespace any more: the host ends are deleted explicitly.
  for (const link of links) quietly('ip', ['link', 'del', link]);
  return [...namespaces, ...links];
}

/** Owners (pids) of the simulated WANs on this machine, from namespace and link names. */
function wanOwners(): Set<number> {
  const owners = new Set<number>();
  for (const ns of listNamespaces()) {
    const m = NAMESPACE.exec(ns);
    if (m) owners.add(Number(m[1]));
  }
  for (const link of listLinks()) {
    const m = HOST_LINK.exec(link);
    if (m) owners.add(Number(m[1]));
  }
  return owners;
}

/**
 * Removes what earlier runs killed before their clean-up left behind: the namespaces and links
 * of WANs whose owner process no longer exists. Returns the names removed.
 */
export function sweepStaleWans(): string[] {
  const removed: string[] = [];
  for (const owner of wanOwners()) {
    if (owner !== process.pid && !alive(owner)) removed.push(...removeWanOf(owner));
  }
  return removed;
}

/**
 * Null when this process may create namespaces, veth pairs and tbf qdiscs; otherwise why not
 * (not root, `ip` missing, the kernel refusing), to print before skipping.
 */
export function netnsUnavailableReason(): string | null {
  const ns = namespaceName(process.pid, 0);
  const link = hostLinkName(process.pid, 0);
  try {
    ip(['netns', 'add', ns]);
    try {
      ip(['link', 'add', link, 'type', 'veth', 'peer', 'name', SITE_LINK, 'netns', ns]);
      execFileSync(
        'tc',
        ['qdisc', 'add', 'dev', link, 'root', 'tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '400ms'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
    } finally {
      quietly('ip', ['link', 'del', link]);
      quietly('ip', ['netns', 'del', ns]);
    }
    return null;
  } catch (e) {
    const err = e as { stderr?: Buffer | string; message: string; code?: string };
    const detail = String(err.stderr ?? '').trim() || err.message;
    const who = process.getuid?.() === 0 ? 'as root' : `as uid ${process.getuid?.()} (not root)`;
    return `network namespaces with capped veth links are not available ${who}: ${detail}`;
  }
}

/**
 * A detached shell that waits for a line on a pipe from this process: "done" means everything
 * was removed already; end of file means this process died (even by SIGKILL), and the shell
 * removes its namespaces (killing what runs in them) and links.
 */
function startWatchdog(owner: number): ChildProcess {
  const script = `
    if read line && [ "$line" = done ]; then exit 0; fi
    for ns in $(ip netns list | cut -d' ' -f1 | grep '^scp-bench-${owner}-'); do
      for pid in $(ip netns pids "$ns"); do kill -9 "$pid"; done
      ip netns del "$ns"
    done
    for link in $(ls /sys/class/net | grep '^scpb${owner}s'); do ip link del "$link"; done
  `;
  const child = spawn('sh', ['-c', script], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.unref();
  (child.stdin as unknown as { unref(): void }).unref();
  child.stdin!.on('error', () => undefined);
  return child;
}

export class SimulatedWan {
  readonly sites: WanSite[] = [];
  private watchdog?: ChildProcess;
  private disposed = false;
  private readonly onExit = () => this.disposeSync();

  private constructor(
    readonly options: Required<WanOptions>,
    readonly owner: number,
  ) {}

  /** Builds the namespaces and links; on failure removes what it made and throws. */
  static create(options: WanOptions): SimulatedWan {
    const opts: Required<WanOptions> = { burst: '32kbit', latency: '400ms', net: '10.213', ...options };
    parseRate(opts.rate);
    if (!Number.isInteger(opts.sites) || opts.sites < 1 || opts.sites > 99) {
      throw new Error(`sites: expected 1 to 99, got ${opts.sites}`);
    }
    if (!/^\d{1,3}\.\d{1,3}$/.test(opts.net)) {
      throw new Error(`net "${opts.net}": expected the first two octets of an IPv4 address, e.g. 10.213`);
    }
    const others = [...wanOwners()].filter((pid) => pid !== process.pid && alive(pid));
    if (others.length > 0) {
      throw new Error(
        `another simulated WAN is in use (process ${others.join(', ')}): only one bench:sites may run at a time`,
      );
    }
    const taken = ip(['-4', '-o', 'addr', 'show'])
      .split('\n')
      .find((line) => line.includes(` ${opts.net}.`));
    if (taken) {
      throw new Error(
        `net ${opts.net}: this machine already has an address in ${opts.net}.0.0/16 (${taken.trim()})`,
      );
    }
    const wan = new SimulatedWan(opts, process.pid);
    wan.watchdog = startWatchdog(wan.owner);
    process.on('exit', wan.onExit);
    try {
      for (let i = 1; i <= opts.sites; i++) wan.addSite(i);
    } catch (e) {
      wan.disposeSync();
      const err = e as { stderr?: string; message: string };
      throw new Error(`cannot build the simulated WAN: ${String(err.stderr ?? '').trim() || err.message}`);
    }
    return wan;
  }

  /** The watchdog's process id (tests kill it to leave leftovers for the sweep). */
  get watchdogPid(): number | undefined {
    return this.watchdog?.pid;
  }

  /** The address the central services listen on, reachable from every site and the host. */
  get hub(): string {
    return this.sites[0].hostAddress;
  }

  /** Command prefix that runs a program inside site `index`'s namespace. */
  launcher(index: number): string[] {
    return ['ip', 'netns', 'exec', this.site(index).namespace];
  }

  site(index: number): WanSite {
    const site = this.sites[index - 1];
    if (!site) throw new Error(`no site ${index} (1 to ${this.sites.length})`);
    return site;
  }

  /** Bytes through site `index`'s link so far, Ethernet headers included. */
  counters(index: number): LinkCounters {
    const dir = `/sys/class/net/${this.site(index).hostLink}/statistics`;
    return {
      up: Number(readFileSync(`${dir}/rx_bytes`, 'utf8')),
      down: Number(readFileSync(`${dir}/tx_bytes`, 'utf8')),
    };
  }

  /** Changes the cap of every site's link, both directions (the next packets see it). */
  setRate(rate: string): void {
    parseRate(rate);
    this.options.rate = rate;
    for (const site of this.sites) this.cap(site, 'change');
  }

  /** Caps both ends' egress: the host end shapes the site's downloads, the site end its uploads. */
  private cap(site: WanSite, verb: 'add' | 'change'): void {
    const { rate, burst, latency } = this.options;
    const tbf = ['root', 'tbf', 'rate', rate, 'burst', burst, 'latency', latency];
    const tc = (args: string[]) => execFileSync('tc', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    tc(['qdisc', verb, 'dev', site.hostLink, ...tbf]);
    tc(['-n', site.namespace, 'qdisc', verb, 'dev', SITE_LINK, ...tbf]);
  }

  async dispose(): Promise<void> {
    this.disposeSync();
  }

  /** Removes every namespace and link (synchronous: it also runs from the `exit` handler). */
  disposeSync(): void {
    if (this.disposed) return;
    this.disposed = true;
    process.off('exit', this.onExit);
    removeWanOf(this.owner);
    if (this.watchdog?.stdin?.writable) this.watchdog.stdin.end('done\n');
  }

  private addSite(i: number): void {
    const namespace = namespaceName(this.owner, i);
    const hostLink = hostLinkName(this.owner, i);
    const hostAddress = `${this.options.net}.${i}.1`;
    const siteAddress = `${this.options.net}.${i}.2`;
    ip(['netns', 'add', namespace]);
    this.sites.push({ index: i, namespace, hostLink, hostAddress, siteAddress });
    ip(['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', SITE_LINK, 'netns', namespace]);
    ip(['addr', 'add', `${hostAddress}/24`, 'dev', hostLink]);
    ip(['link', 'set', hostLink, 'up']);
    ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
    ip(['-n', namespace, 'addr', 'add', `${siteAddress}/24`, 'dev', SITE_LINK]);
    ip(['-n', namespace, 'link', 'set', SITE_LINK, 'up']);
    ip(['-n', namespace, 'route', 'add', 'default', 'via', hostAddress]);
    this.cap(this.sites[i - 1], 'add');
  }
}
