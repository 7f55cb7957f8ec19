import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import AxeBuilder from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from '../../scripts/local-stack/stack';
import { EXAMPLE, tempDir } from '../e2e/e2e-helpers';
import { chromiumUnavailableReason, launchChromium, screenshot } from './chromium';

/**
 * The operator console in a real browser (Debian's Chromium, driven by playwright-core) against
 * the real platform: api, aggregator and three trainer workers as processes from dist/, on
 * Postgres, Redis and an S3 server on loopback. What a consortium administrator and an
 * institution member do, through the page only: sign in, register and certify an institution,
 * upload, start a federation from the form, watch its rounds, cancel and resume, download a
 * model, annotate a query and download the result, keyboard use, and axe-core's checks.
 * The example consortium is examples/pbmc-mini (cut from ../shared/datasets/pbmc).
 */

const run = promisify(execFile);
const unavailable = chromiumUnavailableReason();
if (unavailable) console.warn(`skipping the console's browser tests: ${unavailable}`);

/** A small model shape, so that rounds take a fraction of a second on two cores. */
const SHAPE = { hidden: '48', embedding: '12' };

describe.skipIf(unavailable !== null)('the operator console in Chromium', () => {
  let stack: Stack;
  let dir: string;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let newWorker: ChildProcess | undefined;
  /** Workers started from settings the page handed out (the journey's institutions). */
  const pageWorkers: ChildProcess[] = [];

  beforeAll(async () => {
    dir = await tempDir('console');
    stack = await new Stack({
      dir,
      consortium: 'PBMC consortium',
      institutions: EXAMPLE.institutions,
    }).start();
    browser = await launchChromium();
    admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await admin.newPage();
  }, 300_000);

  afterAll(async () => {
    newWorker?.kill('SIGTERM');
    for (const worker of pageWorkers) worker.kill('SIGTERM');
    await browser?.close();
    await stack?.stop();
    if (!process.env.KEEP_E2E_DIR) await rm(dir, { recursive: true, force: true });
  });

  const url = () => `${stack.apiUrl}/dashboard`;

  /** Signs in afresh: a session left in the tab by an earlier sign-in is signed out first. */
  async function signIn(p: Page, token: string) {
    await p.goto(url());
    // The page signs in again by itself with a token kept in the tab: wait until it has settled.
    await p.locator('#sign-in:not([hidden]), #nav:not([hidden])').first().waitFor();
    if (await p.locator('#nav').isVisible()) {
      await p.getByRole('button', { name: 'Sign out' }).click();
    }
    await p.getByLabel('API access token').fill(token);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('navigation', { name: 'Console' }).waitFor();
  }

  async function openPage(p: Page, name: string) {
    await p.getByRole('navigation', { name: 'Console' }).getByRole('link', { name }).click();
    await p.getByRole('heading', { level: 2, name }).waitFor();
  }

  /** Text of every cell of a table's body rows, row by row (`container`: an element id or a selector of rows). */
  async function rowsOf(p: Page, container: string): Promise<string[][]> {
    const selector = container.includes(' ') ? container : `#${container} tbody tr`;
    const rows = p.locator(selector);
    const out: string[][] = [];
    for (let i = 0; i < (await rows.count()); i += 1) {
      out.push((await rows.nth(i).locator('th, td').allTextContents()).map((t) => t.trim()));
    }
    return out;
  }

  /** The worker settings file shown once after a registration, made runnable on this machine. */
  async function workerSettingsFromPage(p: Page, name: string): Promise<Record<string, string>> {
    const env = (await p.locator('#worker-env').textContent()) ?? '';
    const settings = Object.fromEntries(
      env
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    return {
      ...settings,
      WORKER_REDIS_URL: settings.WORKER_REDIS_URL.replace(
        '<redis-host>:6379',
        `127.0.0.1:${stack.redis.port}`,
      ),
      WORKER_STATE_DIR: join(dir, `${name}-state`),
      WORKER_KEY_PASSPHRASE: `a passphrase of ${name}, long enough`,
      SCPRIVACY_BACKEND: 'wasm',
    };
  }

  /** What the institution does on its own machine: its key pair and certificate request. */
  async function workerInit(env: Record<string, string>): Promise<string> {
    const { stdout } = await run(process.execPath, ['dist/trainer-worker/main.js', '--init'], {
      env: { ...process.env, ...env },
    });
    return readFile(stdout.trim(), 'utf8');
  }

  /** Starts an institution's worker (outside the page) and waits until it listens for jobs. */
  async function startWorker(env: Record<string, string>): Promise<ChildProcess> {
    const worker = spawn(process.execPath, ['dist/trainer-worker/main.js'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`the worker did not start: ${out}`)), 60_000);
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('waiting for jobs')) {
          clearTimeout(timer);
          resolve();
        }
      };
      worker.stdout!.on('data', onData);
      worker.stderr!.on('data', onData);
    });
    return worker;
  }

  /** The Models page's row of a version, by the link that names it (its lineage hint names others). */
  function modelRow(name: string) {
    return page
      .locator('#models-table tbody tr')
      .filter({ has: page.getByRole('link', { name, exact: true }) });
  }

  it('refuses a bad token with the reason, and keeps the sign-in form', async () => {
    await page.goto(url());
    await screenshot(page, dir, '01-sign-in');
    await page.getByLabel('API access token').fill('scp_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.locator('#alert');
    await expect.poll(() => alert.textContent()).toMatch(/refused this token \(401\)/);
    expect(await page.getByRole('navigation', { name: 'Console' }).isHidden()).toBe(true);
    expect(await page.getByLabel('API access token').isVisible()).toBe(true);
    // The token never reaches the address bar or storage when refused.
    expect(page.url()).not.toContain('scp_not');
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('signs an administrator in and lists the institutions: certificate expiry, worker queue online', async () => {
    await signIn(page, stack.adminToken);
    expect(await page.locator('#who').textContent()).toBe(
      'Signed in as consortium administrator · PBMC consortium',
    );
    await openPage(page, 'Institutions');
    await page.locator('#institutions-table tbody tr').nth(2).waitFor();
    const rows = await rowsOf(page, 'institutions-table');
    expect(rows.map((r) => r[0].split(/\s/)[0]).sort()).toEqual(
      EXAMPLE.institutions.map((i) => i.name).sort(),
    );
    for (const row of rows) {
      expect(row[1]).toBe('certified');
      // Certified just now for 365 days.
      expect(row[2]).toMatch(/expires in 36[45] days/);
      expect(row[3]).toBe('online');
      expect(row[4]).toBe('never');
    }
  });

  it('registers an institution, shows its one-time settings, and certifies the request its worker wrote', async () => {
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('New Lab');
    await page.getByLabel('Display name').fill('A new laboratory');
    await page.getByRole('button', { name: 'Register' }).click();
    // Checked in the page first: the field is named and marked invalid.
    await expect.poll(() => page.locator('#reg-errors').textContent()).toMatch(/Name: 1 to 63 lower-case/);
    expect(await page.getByRole('textbox', { name: 'Name', exact: true }).getAttribute('aria-invalid')).toBe(
      'true',
    );

    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('new-lab');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('heading', { name: /Settings for new-lab/ }).waitFor();
    const env = (await page.locator('#worker-env').textContent()) ?? '';
    expect(env).toMatch(/^INSTITUTION=new-lab$/m);
    expect(env).toMatch(/^API_TOKEN=scp_/m);
    await screenshot(page, dir, '03-institution-registered');

    // The institution's worker makes its key pair and certificate request with these settings.
    const workerEnv = await workerSettingsFromPage(page, 'new-lab');
    const csr = await workerInit(workerEnv);
    await page.getByRole('button', { name: 'I have saved them' }).click();

    const row = page.locator('#institutions-table tbody tr', { hasText: 'new-lab' });
    await expect.poll(() => row.locator('td').nth(0).textContent()).toBe('registered');
    await row.getByRole('button', { name: 'Certify…' }).click();
    await page.getByLabel('Certificate request (PEM)').fill('not a request');
    await page.getByRole('button', { name: 'Certify', exact: true }).click();
    await expect
      .poll(() => page.locator('#certify-errors').textContent())
      .toMatch(/paste the whole institution\.csr\.pem/);
    await page.getByLabel('Certificate request (PEM)').fill(csr);
    await page.getByRole('button', { name: 'Certify', exact: true }).click();
    await expect.poll(() => row.locator('td').nth(0).textContent()).toBe('certified');
    expect(await row.locator('td').nth(1).textContent()).toMatch(/expires in 36[45] days/);
    expect(await row.locator('td').nth(2).textContent()).toBe('offline');

    // Its worker starts (outside the page, on the institution's machine) and its queue is online.
    newWorker = await startWorker(workerEnv);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => row.locator('td').nth(2).textContent()).toBe('online');
    await screenshot(page, dir, '02-institutions');
  });

  it('lists datasets as summaries only, and refuses a bad upload naming the line at fault', async () => {
    await openPage(page, 'Datasets');
    await page.locator('#datasets-table tbody tr').nth(2).waitFor();
    const rows = await rowsOf(page, 'datasets-table');
    const pbmc3k = rows.find((r) => r[0] === 'pbmc3k-10x-v1')!;
    expect(pbmc3k[3]).toBe('196');
    expect(pbmc3k[4]).toBe('1000');
    expect(pbmc3k[5]).toContain('B cells 50');

    const bad = join(dir, 'bad.csv');
    await writeFile(bad, 'cell,GENE_A,GENE_B\nc1,1,2\n');
    await page.getByLabel('Institution', { exact: true }).selectOption('new-lab');
    await page.getByLabel('Reference file').setInputFiles(bad);
    await page.getByRole('button', { name: 'Upload' }).click();
    await expect
      .poll(() => page.locator('#upload-errors').textContent())
      .toMatch(/bad\.csv, line 1: no "cell_label" column/);
    expect((await rowsOf(page, 'datasets-table')).length).toBe(3);
    await screenshot(page, dir, '04-datasets');
  });

  let federationId = '';

  it('checks the start form, starts a federation from it, and shows its rounds arriving until it completes', async () => {
    await openPage(page, 'Federations');
    await page.getByRole('button', { name: 'Start a federation…' }).click();
    await page.getByRole('heading', { name: 'Start a federation' }).waitFor();
    // The new lab has no datasets: it cannot be chosen. The three others are, certified.
    await expect.poll(() => page.getByRole('checkbox', { name: /new-lab/ }).isDisabled()).toBe(true);
    await expect.poll(() => page.getByRole('checkbox', { name: /pbmc3k-10x-v1/ }).isChecked()).toBe(true);
    expect(await page.getByRole('textbox', { name: 'Rounds', exact: true }).getAttribute('placeholder')).toBe(
      '300',
    );
    await page.getByRole('textbox', { name: 'Rounds', exact: true }).fill('0');
    await page.getByRole('button', { name: 'Start federation' }).click();
    const errors = page.locator('#start-errors');
    await expect.poll(() => errors.textContent()).toMatch(/Name: 1 to 200 characters/);
    expect(await errors.textContent()).toMatch(/Rounds: a whole number from 1 to 100000, got "0"/);
    // Focus goes to the first field at fault.
    expect(await page.evaluate('document.activeElement?.id')).toBe('fed-name');
    await screenshot(page, dir, '05-start-form');

    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('pbmc-console');
    await page.getByRole('textbox', { name: 'Rounds', exact: true }).fill('4');
    await page.getByRole('textbox', { name: 'Seed', exact: true }).fill('11');
    await page.getByRole('textbox', { name: 'Hidden layer size', exact: true }).fill(SHAPE.hidden);
    await page.getByRole('textbox', { name: 'Embedding size', exact: true }).fill(SHAPE.embedding);
    await page.getByRole('textbox', { name: 'Round deadline (seconds)', exact: true }).fill('120');
    await page.getByRole('button', { name: 'Start federation' }).click();
    await page.getByRole('heading', { level: 2, name: 'pbmc-console' }).waitFor();
    federationId = decodeURIComponent(page.url().split('#/federations/')[1]);
    expect(federationId).toMatch(/^[0-9a-f-]{36}$/);

    // Rounds arrive as the page polls; the summary reaches "completed".
    await expect
      .poll(() => page.locator('#round-rows tr').count(), { timeout: 120_000 })
      .toBeGreaterThanOrEqual(1);
    await expect
      .poll(() => page.locator('#federation-summary .badge').textContent(), { timeout: 120_000 })
      .toBe('completed');
    const roundRows = await rowsOf(page, '#round-rows tr');
    expect(roundRows.map((r) => r[0])).toEqual(['4', '3', '2', '1']);
    const head = await page.locator('#rounds-head th').allTextContents();
    expect(head).toContain('Loss pbmc3k-10x-v1');
    // The mean column is the mean of the three institutions' losses.
    for (const r of roundRows) {
      const losses = [4, 5, 6].map((i) => Number(r[i]));
      expect(Number(r[3])).toBeCloseTo((losses[0] + losses[1] + losses[2]) / 3, 3);
    }
    expect(await page.locator('#loss-chart svg').count()).toBe(1);
    await screenshot(page, dir, '06-federation');

    // The api agrees: the same federation, completed, with the form's options.
    const data = await stack.gql<{ federation: { status: string; options: Record<string, unknown> } }>(
      'query($id: ID!) { federation(id: $id) { status options } }',
      { id: federationId },
      stack.adminToken,
    );
    expect(data.federation.status).toBe('completed');
    expect(data.federation.options).toMatchObject({
      rounds: 4,
      hiddenSize: 48,
      embeddingSize: 12,
      secureAggregation: true,
    });
  });

  it('cancels a running federation and resumes it from the page', async () => {
    await page.getByRole('button', { name: 'Start a federation…' }).click();
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('long-run');
    await page.getByRole('textbox', { name: 'Rounds', exact: true }).fill('60');
    await page.getByRole('textbox', { name: 'Hidden layer size', exact: true }).fill(SHAPE.hidden);
    await page.getByRole('textbox', { name: 'Embedding size', exact: true }).fill(SHAPE.embedding);
    await page.getByRole('button', { name: 'Start federation' }).click();
    await page.getByRole('heading', { level: 2, name: 'long-run' }).waitFor();
    await expect
      .poll(() => page.locator('#round-rows tr').count(), { timeout: 120_000 })
      .toBeGreaterThanOrEqual(2);

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Cancel federation' }).click();
    await expect
      .poll(() => page.locator('#federation-summary .badge').textContent(), { timeout: 60_000 })
      .toBe('cancelled');
    expect(await page.getByRole('button', { name: 'Resume federation' }).isEnabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Cancel federation' }).isDisabled()).toBe(true);
    const stoppedAt = await page.locator('#round-rows tr').count();
    expect(stoppedAt).toBeLessThan(60);

    await page.getByRole('button', { name: 'Resume federation' }).click();
    await expect
      .poll(() => page.locator('#federation-summary .badge').textContent(), { timeout: 180_000 })
      .toBe('completed');
    expect(await page.locator('#round-rows tr').count()).toBe(60);

    // A failed round shows its cause. (Written straight into Postgres: making a real round fail
    // needs a dropout below the threshold, which test/e2e/faults.e2e.spec.ts covers.)
    const longRunId = decodeURIComponent(page.url().split('#/federations/')[1]);
    const cause = 'no institution answered before the deadline (threshold 2)';
    await stack.db.prisma.round.create({
      data: {
        federationId: longRunId,
        number: 61,
        status: 'failed',
        participants: EXAMPLE.institutions.map((i) => i.name),
        survivors: [],
        dropouts: EXAMPLE.institutions.map((i) => i.name),
        error: cause,
      },
    });
    await page.getByRole('button', { name: 'Refresh' }).click();
    const failed = page.locator('#round-rows tr').first();
    await expect.poll(() => failed.locator('th').textContent()).toBe('61');
    expect(await failed.locator('.badge').textContent()).toBe('failed');
    expect(await failed.locator('td').last().textContent()).toBe(cause);
    expect(await failed.locator('td').nth(1).textContent()).toContain(
      'dropped: pbmc3k-10x-v1, pbmc-10x-3p-v2, pbmc-10x-5p-vdj',
    );
  });

  it('shows, per institution, when its worker last trained, on which backend, and in which federation', async () => {
    await openPage(page, 'Institutions');
    const row = page.locator('#institutions-table tbody tr', { hasText: 'pbmc3k-10x-v1' });
    await expect.poll(() => row.locator('td').nth(4).textContent()).toBe('wasm');
    expect(await row.locator('time').count()).toBeGreaterThanOrEqual(2);
    expect(await row.locator('td').nth(5).textContent()).toMatch(/^(long-run|pbmc-console), round \d+$/);
    // The new lab has trained nothing yet.
    const fresh = page.locator('#institutions-table tbody tr', { hasText: 'new-lab' });
    expect(await fresh.locator('td').nth(3).textContent()).toBe('never');
  });

  it('downloads an exportable model from the Models page; versions without landmarks offer none', async () => {
    await openPage(page, 'Models');
    await page.locator('#models-table tbody tr').first().waitFor();
    const final = modelRow('pbmc-console, round 4');
    expect(await final.locator('td').nth(5).textContent()).toBe('yes');
    // Its lineage: derived from the round before.
    expect(await final.locator('th').textContent()).toBe('pbmc-console, round 4 from pbmc-console, round 3');
    const checkpoint = modelRow('pbmc-console, round 3');
    expect(await checkpoint.locator('td').nth(5).textContent()).toBe('no (no landmarks)');
    expect(await checkpoint.getByRole('button', { name: /Download/ }).count()).toBe(0);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      final.getByRole('button', { name: /Download the model bundle/ }).click(),
    ]);
    const saved = join(dir, 'bundle.tar');
    await download.saveAs(saved);
    const bytes = await readFile(saved);
    // A tar whose first entry is the bundle (ustar magic at byte 257), as the api serves it.
    expect(bytes.subarray(257, 262).toString()).toBe('ustar');
    expect(download.suggestedFilename()).toMatch(/\.tar$/);
    await screenshot(page, dir, '07-models');
  });

  it('annotates a query from upload to result download', async () => {
    const final = modelRow('pbmc-console, round 4');
    await final.getByRole('link', { name: 'Annotate with it' }).click();
    await page.getByRole('heading', { level: 2, name: 'Annotation jobs' }).waitFor();
    await expect
      .poll(() => page.getByRole('combobox', { name: 'Model version', exact: true }).inputValue())
      .not.toBe('');
    const chosen = await page
      .getByRole('combobox', { name: 'Model version', exact: true })
      .locator('option:checked')
      .textContent();
    expect(chosen).toBe('pbmc-console, round 4');

    await page.getByLabel('Query file').setInputFiles(EXAMPLE.query);
    await page.getByLabel('Reject threshold (optional)').fill('2');
    await page.getByRole('button', { name: 'Annotate' }).click();
    await expect.poll(() => page.locator('#job-errors').textContent()).toMatch(/from -1 to 1, got "2"/);

    await page.getByLabel('Reject threshold (optional)').fill('auto');
    await page.getByRole('button', { name: 'Annotate' }).click();
    const job = page.locator('#annotations-table tbody tr', { hasText: 'pbmc_10x_3p_v3.csv.gz' });
    await expect.poll(() => job.locator('.badge').textContent(), { timeout: 120_000 }).toBe('completed');
    expect(await job.locator('td').nth(2).textContent()).toBe('auto');
    expect(await job.locator('td').nth(5).textContent()).toMatch(/^210 cells, \d+ unassigned/);
    // What auto chose, one click away: the kind of rejection and each predicted type's threshold.
    const auto = job.locator('details.auto-rejection');
    expect(await auto.locator('summary').textContent()).toMatch(
      /^auto: (outliers per predicted type|\d+ cells form a separate low-confidence group)/,
    );
    await auto.locator('summary').click();
    expect(await auto.locator('p').textContent()).toMatch(
      /^Unassigned below, per predicted type: [^,]+ -?\d\.\d{3}(, [^,]+ -?\d\.\d{3})*$/,
    );
    await screenshot(page, dir, '08-annotations');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      job.getByRole('button', { name: /Download result\.txt/ }).click(),
    ]);
    const saved = join(dir, 'result.txt');
    await download.saveAs(saved);
    const text = await readFile(saved, 'utf8');
    // The published format: one "cell<TAB>label" line per query cell, as the api serves it.
    const jobs = await stack.gql<{ annotationJobs: { id: string }[] }>(
      '{ annotationJobs { id } }',
      {},
      stack.adminToken,
    );
    const res = await fetch(`${stack.apiUrl}/api/v1/annotations/${jobs.annotationJobs[0].id}/result.txt`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    expect(text).toBe(await res.text());
    expect(text.trim().split('\n').length).toBeGreaterThanOrEqual(210);
  });

  it('shows a member only its own institution and per-round loss, until the consortium allows more', async () => {
    const member = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const p = await member.newPage();
    const own = EXAMPLE.institutions[1].name;
    await signIn(p, stack.institutions.get(own)!.token);
    await expect
      .poll(() => p.locator('#who').textContent())
      .toBe(`Signed in as member of ${own} · PBMC consortium`);
    expect(await p.getByRole('button', { name: 'Start a federation…' }).isHidden()).toBe(true);

    await p.goto(`${url()}#/federations/${federationId}`);
    await p.getByRole('heading', { level: 2, name: 'pbmc-console' }).waitFor();
    await p.locator('#round-rows tr').nth(3).waitFor();
    const head = await p.locator('#rounds-head th').allTextContents();
    expect(head.filter((t) => t?.startsWith('Loss '))).toEqual([`Loss ${own}`]);
    expect(await p.locator('#controls').isHidden()).toBe(true);
    // The consortium's mean is shown, and it is not the member's own loss.
    const first = (await rowsOf(p, '#round-rows tr')).find((r) => r[0] === '1')!;
    expect(Number(first[3])).not.toBeCloseTo(Number(first[4]), 6);
    await screenshot(p, dir, '09-member-federation');

    await openPage(p, 'Institutions');
    await p.locator('#institutions-table tbody tr').first().waitFor();
    expect((await rowsOf(p, 'institutions-table')).map((r) => r[0].split(/\s/)[0])).toEqual([own]);
    expect(await p.locator('#institutions-admin').isHidden()).toBe(true);
    await openPage(p, 'Datasets');
    await p.locator('#datasets-table tbody tr').first().waitFor();
    expect((await rowsOf(p, 'datasets-table')).map((r) => r[0])).toEqual([own]);

    // The administrator lets members see every institution's loss.
    await openPage(page, 'Institutions');
    await page.getByLabel(/Members see every institution/).check();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect
      .poll(() => page.locator('#status').textContent())
      .toMatch(/Members now see every institution/);
    // The member's page reads the setting when it signs in (the saved token does it on reload).
    await p.goto(`${url()}#/federations/${federationId}`);
    await p.reload();
    await p.locator('#round-rows tr').nth(3).waitFor();
    await expect
      .poll(
        async () =>
          (await p.locator('#rounds-head th').allTextContents()).filter((t) => t?.startsWith('Loss ')).length,
      )
      .toBe(3);
    await member.close();
  });

  it('works from the keyboard alone: skip link, sign-in, navigation, focus on each page', async () => {
    const context = await browser.newContext();
    const p = await context.newPage();
    await p.goto(url());
    await p.keyboard.press('Tab');
    expect(await p.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await p.keyboard.press('Tab');
    expect(await p.evaluate('document.activeElement?.id')).toBe('token');
    await p.keyboard.type(stack.adminToken);
    await p.keyboard.press('Enter');
    await p.getByRole('navigation', { name: 'Console' }).waitFor();
    // Tab from the top of the page reaches the navigation, then Enter opens a page.
    await p.evaluate('document.activeElement?.blur()');
    const reached: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      await p.keyboard.press('Tab');
      reached.push(String(await p.evaluate("document.activeElement?.textContent?.trim() ?? ''")));
      if (reached.at(-1) === 'Models') break;
    }
    expect(reached).toContain('Federations');
    expect(reached.at(-1)).toBe('Models');
    await p.keyboard.press('Enter');
    await p.getByRole('heading', { level: 2, name: 'Models' }).waitFor();
    expect(await p.getByRole('link', { name: 'Models' }).getAttribute('aria-current')).toBe('page');
    // Focus moves to the page's heading, so the next Tab starts in the page.
    await expect.poll(() => p.evaluate('document.activeElement?.id')).toBe('models-title');
    await p.keyboard.press('Tab');
    expect(await p.evaluate('document.activeElement?.textContent?.trim()')).toBe('Refresh');
    // Every control shows a visible focus ring (an outline) when reached by Tab.
    const outline = await p.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).not.toBe('none');
    await context.close();
  });

  it('has no accessibility violations (axe-core, WCAG 2.1 A and AA) on any page, admin and member', async () => {
    const pages = ['Federations', 'Institutions', 'Datasets', 'Models', 'Annotation jobs'];
    const found: string[] = [];
    const check = async (p: Page, label: string) => {
      const result = await new AxeBuilder({ page: p })
        .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
        .exclude('#loss-chart')
        .analyze();
      for (const v of result.violations) {
        found.push(
          `${label}: ${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
        );
      }
    };
    const context = await browser.newContext();
    const p = await context.newPage();
    // The checker itself finds a violation when there is one (an image without a text alternative).
    await p.setContent(
      '<!doctype html><html lang="en"><title>t</title><main><img src="data:,"></main></html>',
    );
    const control = await new AxeBuilder({ page: p }).withTags(['wcag2a']).analyze();
    expect(control.violations.map((v) => v.id)).toContain('image-alt');
    await p.goto(url());
    await check(p, 'sign-in');
    await signIn(p, stack.adminToken);
    for (const name of pages) {
      await openPage(p, name);
      await p.waitForTimeout(300);
      await check(p, `admin ${name}`);
    }
    await p.goto(`${url()}#/federations/${federationId}`);
    await p.locator('#round-rows tr').first().waitFor();
    await check(p, 'admin federation');
    await p.getByRole('button', { name: 'Start a federation…' }).click();
    await check(p, 'admin start form');
    await signIn(p, stack.institutions.get(EXAMPLE.institutions[0].name)!.token);
    for (const name of pages) {
      await openPage(p, name);
      await p.waitForTimeout(300);
      await check(p, `member ${name}`);
    }
    await context.close();
    expect(found).toEqual([]);
  });
  it('takes an empty consortium to a finished federation and an annotation result from the page alone (but for starting the workers)', async () => {
    // The operator's part (outside any consortium): a new, empty consortium and its admin token.
    const created = await stack.gql<{ createConsortium: { adminToken: string } }>(
      'mutation { createConsortium(name: "Journey consortium") { adminToken } }',
      {},
      stack.operatorToken,
    );
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const p = await context.newPage();
    await signIn(p, created.createConsortium.adminToken);
    // The list loads after the navigation shows: wait for it rather than look once.
    await p.locator('#no-federations').waitFor({ state: 'visible' });

    const sites = [
      { name: 'journey-a', file: EXAMPLE.institutions[1].datasets[0] },
      { name: 'journey-b', file: EXAMPLE.institutions[2].datasets[0] },
    ];
    for (const site of sites) {
      await openPage(p, 'Institutions');
      await p.getByRole('textbox', { name: 'Name', exact: true }).fill(site.name);
      await p.getByLabel('Display name').fill(`Lab ${site.name}`);
      await p.getByRole('button', { name: 'Register' }).click();
      await p.getByRole('heading', { name: `Settings for ${site.name}’s worker` }).waitFor();
      const env = await workerSettingsFromPage(p, site.name);
      const csr = await workerInit(env);
      await p.getByRole('button', { name: 'I have saved them' }).click();
      const row = p.locator('#institutions-table tbody tr', { hasText: site.name });
      await row.getByRole('button', { name: 'Certify…' }).click();
      await p.getByLabel('Certificate request (PEM)').fill(csr);
      await p.getByRole('button', { name: 'Certify', exact: true }).click();
      await expect.poll(() => row.locator('td').nth(0).textContent()).toBe('certified');
      pageWorkers.push(await startWorker(env));

      await openPage(p, 'Datasets');
      await p.getByLabel('Institution', { exact: true }).selectOption(site.name);
      await p.getByLabel('Reference file').setInputFiles(site.file);
      await p.getByRole('button', { name: 'Upload' }).click();
      await expect
        .poll(() => p.locator('#status').textContent())
        .toMatch(new RegExp(`Stored .* for ${site.name}: 120 cells`));
    }

    await openPage(p, 'Federations');
    await p.getByRole('button', { name: 'Start a federation…' }).click();
    await p.getByRole('textbox', { name: 'Name', exact: true }).fill('journey');
    await p.getByRole('textbox', { name: 'Rounds', exact: true }).fill('3');
    await p.getByRole('textbox', { name: 'Hidden layer size', exact: true }).fill(SHAPE.hidden);
    await p.getByRole('textbox', { name: 'Embedding size', exact: true }).fill(SHAPE.embedding);
    await p.getByRole('button', { name: 'Start federation' }).click();
    await p.getByRole('heading', { level: 2, name: 'journey' }).waitFor();
    await expect
      .poll(() => p.locator('#federation-summary .badge').textContent(), { timeout: 120_000 })
      .toBe('completed');
    expect(await p.locator('#federation-summary').textContent()).toContain('secure aggregation');

    await openPage(p, 'Models');
    await p
      .locator('#models-table tbody tr')
      .filter({ has: p.getByRole('link', { name: 'journey, round 3', exact: true }) })
      .getByRole('link', { name: 'Annotate with it' })
      .click();
    await p.getByRole('heading', { level: 2, name: 'Annotation jobs' }).waitFor();
    await p.getByLabel('Query file').setInputFiles(EXAMPLE.query);
    await p.getByRole('button', { name: 'Annotate' }).click();
    const job = p.locator('#annotations-table tbody tr').first();
    await expect.poll(() => job.locator('.badge').textContent(), { timeout: 120_000 }).toBe('completed');
    const [download] = await Promise.all([
      p.waitForEvent('download'),
      job.getByRole('button', { name: /Download result\.txt/ }).click(),
    ]);
    const saved = join(dir, 'journey-result.txt');
    await download.saveAs(saved);
    const lines = (await readFile(saved, 'utf8')).trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(210);
    // Every line names a cell and one of the references' types (B cells, Monocytes, T/NK cells).
    const labels = new Set(lines.slice(lines.length - 210).map((l) => l.split('\t')[1]));
    expect([...labels].every((l) => ['B cells', 'Monocytes', 'T/NK cells'].includes(l))).toBe(true);
    await context.close();
  });
});
