import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Debian's Chromium (package `chromium`; .ci/run installs it when missing). Playwright never
 * downloads a browser here: it drives this executable.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser tests cannot run on this machine, or null when they can. */
export function chromiumUnavailableReason(): string | null {
  if (!existsSync(CHROMIUM)) {
    return `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium) or set CHROMIUM_PATH`;
  }
  if (!existsSync('dist/api/main.js')) return 'dist/ is not built: run npm run build first';
  return null;
}

/**
 * Headless Chromium as this machine allows it: no sandbox (root), no GPU, and none of Chromium's
 * own background connections (the network is closed; each would be refused and retried).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/**
 * Screenshots: into $CONSOLE_SCREENSHOTS when set (docs/console is refreshed with
 * `CONSOLE_SCREENSHOTS=docs/console npx vitest run test/browser`), else into the test's own
 * folder, so that every run still takes them.
 */
export async function screenshot(page: Page, fallbackDir: string, name: string): Promise<string> {
  const dir = process.env.CONSOLE_SCREENSHOTS ?? join(fallbackDir, 'screenshots');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
