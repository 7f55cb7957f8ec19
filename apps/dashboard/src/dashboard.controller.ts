import { Controller, Get, Header, NotFoundException, Param, StreamableFile } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
// The api's own marker for routes its global AuthGuard lets through without a token (an app-to-app
// import, acceptable because this module only ever runs inside the api process).
import { Public } from '../../api/src/auth/public.decorator';
import { DashboardAssets, type Asset } from './dashboard-assets';

/**
 * What the page may do, for the browser to enforce. Vega compiles its expressions with
 * `new Function` (hence 'unsafe-eval') and sets inline styles on the SVG it draws; everything
 * else — scripts, styles, GraphQL and REST calls — comes from this origin only, and the page
 * writes data into the DOM as text, never as HTML.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function file(asset: Asset | undefined, name: string): StreamableFile {
  if (!asset) throw new NotFoundException(`The dashboard has no file "${name}".`);
  return new StreamableFile(asset.body, { type: asset.contentType, length: asset.body.length });
}

/**
 * The admin page for federation rounds. Public on purpose: these are static files holding no
 * data; every data call the page makes goes to /graphql or /api/v1 with the user's own token.
 */
@ApiExcludeController()
@Public()
@Controller('dashboard')
export class DashboardController {
  constructor(private readonly assets: DashboardAssets) {}

  @Get()
  @Header('Cache-Control', 'no-cache')
  @Header('Content-Security-Policy', DASHBOARD_CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  async index(): Promise<StreamableFile> {
    return file(await this.assets.page('index.html'), 'index.html');
  }

  /** vega.min.js and vega-lite.min.js from node_modules (see dashboard-assets.ts). */
  @Get('vendor/:name')
  @Header('Cache-Control', 'public, max-age=86400')
  @Header('X-Content-Type-Options', 'nosniff')
  async vendor(@Param('name') name: string): Promise<StreamableFile> {
    return file(await this.assets.vendor(name), `vendor/${name}`);
  }

  /** The page's scripts and stylesheet (plain names: `console.js`, `rounds.js`, ...). */
  @Get(':name')
  @Header('Cache-Control', 'no-cache')
  @Header('X-Content-Type-Options', 'nosniff')
  async asset(@Param('name') name: string): Promise<StreamableFile> {
    return file(await this.assets.page(name), name);
  }
}
