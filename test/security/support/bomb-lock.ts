import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * One bomb measured at a time across the whole test run. `npm test` runs spec files in parallel
 * forks (one per core but one); two bombs processed at once, by two apis, would each be measured
 * while the other takes a core, and their /health/live bound would fail for a reason that is the
 * suite's, not the api's. A lock folder with the holder's pid; a holder that died is taken over.
 */
const LOCK = join(tmpdir(), 'scp-security-bomb.lock');
const WAIT_MS = 200;
/** A bomb case is bounded well below this; past it the holder is presumed wedged. */
const GIVE_UP_MS = 5 * 60_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function withBombLock<T>(work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + GIVE_UP_MS;
  for (;;) {
    try {
      await mkdir(LOCK);
      await writeFile(join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(await readFile(join(LOCK, 'pid'), 'utf8').catch(() => 'NaN'));
      // A holder that died (or a folder left without a pid by one that died at once) is stale.
      if ((Number.isFinite(holder) && !alive(holder)) || Date.now() > deadline) {
        await rm(LOCK, { recursive: true, force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, WAIT_MS));
    }
  }
  try {
    return await work();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}
