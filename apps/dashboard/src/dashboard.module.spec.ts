import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Controller,
  ForbiddenException,
  Get,
  Module,
  Injectable,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory, Reflector } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_PUBLIC } from '../../api/src/auth/public.decorator';
import { DashboardAssets, dashboardAssetsOptions, vendorFiles } from './dashboard-assets';
import { DASHBOARD_CSP } from './dashboard.controller';
import { DashboardModule } from './dashboard.module';

const PUBLIC_DIR = join(process.cwd(), 'apps', 'dashboard', 'public');

/**
 * Stands in for the api's global AuthGuard: it refuses everything not marked @Public(), the way
 * the api's guard refuses a request without a token. So the page is reachable here only if it is
 * marked public exactly as the api expects.
 */
@Injectable()
class RefuseUnlessPublic implements CanActivate {
  constructor(private readonly reflector: Reflector) {}
  canActivate(context: ExecutionContext): boolean {
    const open = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!open) throw new ForbiddenException('not public');
    return true;
  }
}

/** A route that is not public, to show the stand-in guard does refuse. */
@Controller('private')
class PrivateController {
  @Get()
  secret(): string {
    return 'secret';
  }
}

@Module({ imports: [DashboardModule], controllers: [PrivateController] })
class HostModule {}

// Literal names: esbuild renames decorated classes (DashboardModule2), see apps/api/src/app.ts.
describe('DashboardModule', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    app = await NestFactory.create(HostModule, { logger: false });
    app.useGlobalGuards(new RefuseUnlessPublic(app.get(Reflector)));
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await app?.close();
  });

  const get = (path: string) => fetch(`${url}${path}`);

  describe('GET /dashboard', () => {
    it('should be reachable past a guard that refuses routes not marked public', async () => {
      expect((await get('/private')).status).toBe(403);
      expect((await get('/dashboard')).status).toBe(200);
    });

    it('should serve the page without a token, with a strict content security policy', async () => {
      const res = await get('/dashboard');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const html = await res.text();
      expect(html).toBe(readFileSync(join(PUBLIC_DIR, 'index.html'), 'utf8'));
      expect(html).toContain('<html lang="en">');
      expect(html).toContain('<label for="token">');
    });

    it('should serve the page with a trailing slash too', async () => {
      const res = await get('/dashboard/');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    });

    it('should never put the token in a URL (no form submission, no query strings)', async () => {
      const html = await (await get('/dashboard')).text();
      expect(html).not.toMatch(/<form[^>]*(action|method)=/);
      expect(html).toMatch(/<input\s+id="token"/);
      expect(html).not.toMatch(/<input[^>]*\sname=/);
      const script = await (await get('/dashboard/console.js')).text();
      expect(script).not.toMatch(/[?&]token=/);
      expect(script).toContain('sessionStorage');
    });
  });

  describe('GET /dashboard/:name', () => {
    it.each([
      ['console.js', 'text/javascript; charset=utf-8'],
      ['federations-page.js', 'text/javascript; charset=utf-8'],
      ['api.js', 'text/javascript; charset=utf-8'],
      ['rounds.js', 'text/javascript; charset=utf-8'],
      ['dashboard.css', 'text/css; charset=utf-8'],
    ])('should serve %s as %s', async (name, type) => {
      const res = await get(`/dashboard/${name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(type);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toBe(readFileSync(join(PUBLIC_DIR, name), 'utf8'));
    });

    it.each([
      '/dashboard/missing.js',
      '/dashboard/..%2Fpackage.json',
      '/dashboard/..%2F..%2F..%2Fpackage.json',
      '/dashboard/.hidden.js',
      '/dashboard/index.htm',
      '/dashboard/vendor/vega.js',
      '/dashboard/vendor/..%2Fvega.min.js',
      '/dashboard/vendor/constructor',
    ])('should answer 404 for %s', async (path) => {
      const res = await get(path);
      expect(res.status).toBe(404);
    });

    it('should serve every script and stylesheet the page links to, and every module they import', async () => {
      const html = await (await get('/dashboard')).text();
      const linked = [...html.matchAll(/(?:src|href)="(\/dashboard\/[^"]+)"/g)].map((m) => m[1]);
      expect(linked).toEqual(
        expect.arrayContaining([
          '/dashboard/dashboard.css',
          '/dashboard/vendor/vega.min.js',
          '/dashboard/vendor/vega-lite.min.js',
          '/dashboard/console.js',
        ]),
      );
      const queue = [...linked];
      const seen = new Set<string>();
      while (queue.length > 0) {
        const path = queue.shift()!;
        if (seen.has(path)) continue;
        seen.add(path);
        const res = await get(path);
        expect(res.status, path).toBe(200);
        if (path.endsWith('.js') && !path.includes('/vendor/')) {
          const source = await res.text();
          for (const [, spec] of source.matchAll(/^import[^;]*?from '\.\/([^']+)';/gms)) {
            queue.push(`/dashboard/${spec}`);
          }
        }
      }
      expect(seen).toEqual(
        new Set([
          '/dashboard/dashboard.css',
          '/dashboard/vendor/vega.min.js',
          '/dashboard/vendor/vega-lite.min.js',
          '/dashboard/console.js',
          '/dashboard/api.js',
          '/dashboard/dom.js',
          '/dashboard/forms.js',
          '/dashboard/rounds.js',
          '/dashboard/federations-page.js',
          '/dashboard/federation-form.js',
          '/dashboard/institutions-page.js',
          '/dashboard/datasets-page.js',
          '/dashboard/models-page.js',
          '/dashboard/annotations-page.js',
        ]),
      );
    });
  });

  describe('GET /dashboard/vendor/:name', () => {
    it.each(['vega.min.js', 'vega-lite.min.js'])(
      'should serve %s from node_modules as JavaScript',
      async (name) => {
        const res = await get(`/dashboard/vendor/${name}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        const body = Buffer.from(await res.arrayBuffer());
        const pkg = name === 'vega.min.js' ? 'vega' : 'vega-lite';
        expect(body.equals(readFileSync(join(process.cwd(), 'node_modules', pkg, 'build', name)))).toBe(true);
        expect(Number(res.headers.get('content-length'))).toBe(body.length);
      },
    );
  });
});

describe('DashboardAssets', () => {
  describe('dashboardAssetsOptions', () => {
    it('should default to apps/dashboard/public under the working directory', () => {
      expect(dashboardAssetsOptions({}, '/srv/app').publicDir).toBe('/srv/app/apps/dashboard/public');
    });

    it('should take DASHBOARD_DIR, absolute or relative to the working directory', () => {
      expect(dashboardAssetsOptions({ DASHBOARD_DIR: '/opt/page' }, '/srv/app').publicDir).toBe('/opt/page');
      expect(dashboardAssetsOptions({ DASHBOARD_DIR: 'static/dash' }, '/srv/app').publicDir).toBe(
        '/srv/app/static/dash',
      );
    });
  });

  describe('vendorFiles', () => {
    it('should find both browser builds beside the packages’ entries', () => {
      const files = vendorFiles();
      expect(files['vega.min.js']).toBe(join(process.cwd(), 'node_modules/vega/build/vega.min.js'));
      expect(files['vega-lite.min.js']).toBe(
        join(process.cwd(), 'node_modules/vega-lite/build/vega-lite.min.js'),
      );
    });

    it('should leave out packages that cannot be resolved', () => {
      expect(vendorFiles(join(tmpdir(), 'nowhere', 'x.js'))).toEqual({});
    });
  });

  describe('page', () => {
    it('should read from the configured folder and refuse other names', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dashboard-'));
      try {
        writeFileSync(join(dir, 'index.html'), '<p>elsewhere</p>');
        writeFileSync(join(dir, 'notes.txt'), 'secret');
        const sut = new DashboardAssets({ publicDir: dir, vendor: {} });
        expect((await sut.page('index.html'))?.body.toString()).toBe('<p>elsewhere</p>');
        expect(await sut.page('notes.txt')).toBeUndefined();
        expect(await sut.page('missing.js')).toBeUndefined();
        expect(await sut.vendor('vega.min.js')).toBeUndefined();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
