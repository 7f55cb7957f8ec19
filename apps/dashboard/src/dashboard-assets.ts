import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';

/**
 * Where the dashboard's files come from. The page is plain static files (no build step), found
 * at run time: the api runs bundled from dist/api/main.js, so paths relative to this source file
 * would point into dist/. Hence `apps/dashboard/public` under the working directory, or
 * DASHBOARD_DIR.
 */
export interface DashboardAssetsOptions {
  /** Folder holding index.html, console.js, dashboard.css and the page's other modules. */
  publicDir: string;
  /** Browser builds served under /dashboard/vendor/<name>; absent when not installed. */
  vendor: Record<string, string>;
}

/** Content types of what the page folder may hold; anything else is never served. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** One path segment, a plain name: no dots but the extension's, so never `..` or a hidden file. */
const ASSET_NAME = /^[a-z0-9][a-z0-9-]*\.(html|js|css)$/;

/**
 * The charts are drawn by Vega-Lite in the browser. The repository already depends on vega and
 * vega-lite (for server-side figures), and both packages ship self-contained browser builds
 * (UMD, globals `vega` and `vegaLite`), so serving those two files from node_modules gives the
 * page a real charting library with nothing downloaded at run time and nothing to bundle.
 * Their package `exports` hide build/*.min.js, so each file is found beside the resolved main
 * entry (build/vega.module.js, build/index.js), resolved from this code's own location: that is
 * where node_modules is, both in the repository and in the bundled dist/api/main.js.
 */
const VENDOR_BUILDS: Record<string, { pkg: string; file: string }> = {
  'vega.min.js': { pkg: 'vega', file: 'vega.min.js' },
  'vega-lite.min.js': { pkg: 'vega-lite', file: 'vega-lite.min.js' },
};

export function vendorFiles(from: string | URL = import.meta.url): Record<string, string> {
  const require = createRequire(from);
  const found: Record<string, string> = {};
  for (const [name, { pkg, file }] of Object.entries(VENDOR_BUILDS)) {
    try {
      found[name] = join(dirname(require.resolve(pkg)), file);
    } catch {
      // Not installed: the page says the chart is unavailable and still shows the tables.
    }
  }
  return found;
}

/** The options for this process: DASHBOARD_DIR (absolute, or relative to the working directory). */
export function dashboardAssetsOptions(
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): DashboardAssetsOptions {
  const dir = env.DASHBOARD_DIR?.trim();
  return {
    publicDir: dir ? (isAbsolute(dir) ? dir : resolve(cwd, dir)) : join(cwd, 'apps', 'dashboard', 'public'),
    vendor: vendorFiles(),
  };
}

export interface Asset {
  body: Buffer;
  contentType: string;
}

/**
 * Reads one file of the page folder by name, or of the vendor builds; undefined when the name is
 * not servable or the file is missing. Read on each request: the files are small, the OS caches
 * them, and an edited page shows on reload.
 */
export class DashboardAssets {
  constructor(private readonly options: DashboardAssetsOptions) {}

  get publicDir(): string {
    return this.options.publicDir;
  }

  async page(name: string): Promise<Asset | undefined> {
    if (!ASSET_NAME.test(name)) return undefined;
    return this.read(join(this.options.publicDir, name), CONTENT_TYPES[extname(name)]);
  }

  async vendor(name: string): Promise<Asset | undefined> {
    const path = Object.hasOwn(this.options.vendor, name) ? this.options.vendor[name] : undefined;
    return path ? this.read(path, CONTENT_TYPES['.js']) : undefined;
  }

  private async read(path: string, contentType: string): Promise<Asset | undefined> {
    try {
      return { body: await readFile(path), contentType };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR') return undefined;
      throw e;
    }
  }
}
