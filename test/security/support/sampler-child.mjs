// Runs in its own process so the test runner's work (streaming a bomb out) cannot delay the
// probes it measures. Every ~50 ms: reads VmRSS of the api from /proc/<pid>/status and sends
// GET /health/live (one at a time, on a kept-alive connection; a slow answer delays the next).
// On SIGTERM (or a "stop" line on stdin) prints one JSON line and exits.
// argv: <pid> <health url> [kill-above-bytes]
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [pidArg, url, killArg] = process.argv.slice(2);
const pid = Number(pidArg);
const killAbove = Number(killArg || 0);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const INTERVAL_MS = 50;
let peakRss = 0;
let rssSamples = 0;
let maxLatency = 0;
// When the slowest probe was sent, in ms since sampling began (to tell which phase of a bomb it hit).
let maxLatencyAt = 0;
const t0 = performance.now();
let polls = 0;
let failures = 0;
let killed = false;
let stopping = false;
const latencies = [];

function rss() {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

const rssTimer = setInterval(() => {
  const r = rss();
  if (r > 0) rssSamples++;
  if (r > peakRss) peakRss = r;
  if (killAbove > 0 && r > killAbove && !killed) {
    // Protect the shared machine: the assertion fails anyway.
    killed = true;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}, 25);

let inflightSince = null;

function poll() {
  if (stopping) return;
  const started = performance.now();
  inflightSince = started;
  const req = http.get(url, { agent, timeout: 60_000 }, (res) => {
    res.resume();
    res.on('end', () => done(res.statusCode === 200));
  });
  req.on('error', () => done(false));
  req.on('timeout', () => req.destroy(new Error('timeout')));
  function done(ok) {
    inflightSince = null;
    const ms = performance.now() - started;
    polls++;
    latencies.push(Math.round(ms * 10) / 10);
    if (!ok) failures++;
    if (ms > maxLatency) {
      maxLatency = ms;
      maxLatencyAt = started - t0;
    }
    const wait = Math.max(0, INTERVAL_MS - ms);
    setTimeout(poll, wait);
  }
}

function finish() {
  if (stopping) return;
  stopping = true;
  clearInterval(rssTimer);
  if (inflightSince !== null) {
    // A probe still unanswered: the api has not answered for this long.
    const ms = performance.now() - inflightSince;
    if (ms > maxLatency) {
      maxLatency = ms;
      maxLatencyAt = inflightSince - t0;
    }
    latencies.push(Math.round(ms * 10) / 10);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const p = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0);
  process.stdout.write(
    `${JSON.stringify({
      peakRssBytes: peakRss,
      rssSamples,
      maxLatencyMs: Math.round(maxLatency * 10) / 10,
      maxLatencyAtMs: Math.round(maxLatencyAt),
      p50LatencyMs: p(0.5),
      p99LatencyMs: p(0.99),
      polls,
      failures,
      killedForMemory: killed,
    })}\n`,
    () => process.exit(0),
  );
}

process.on('SIGTERM', finish);
process.stdin.on('data', (d) => {
  if (String(d).includes('stop')) finish();
});
process.stdout.write('ready\n');
poll();
