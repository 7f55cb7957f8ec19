import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
// The dashboard's own policy (Vega needs 'unsafe-eval' and inline SVG styles); it is defined
// beside the page it protects and applied here to everything under /dashboard.
import { DASHBOARD_CSP } from '../../../dashboard/src/dashboard.controller';

type Directives = Record<string, string[]>;

const LOCKED_DOWN: Directives = {
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'object-src': ["'none'"],
};

/** JSON answers of /api/v1 and /graphql: nothing in them may load or run anything. */
export const API_CSP: Directives = { 'default-src': ["'none'"], ...LOCKED_DOWN };

/**
 * Swagger UI at /api/docs: its scripts and stylesheet come from this origin, but its page has
 * inline <style> blocks and the UI sets style attributes, hence 'unsafe-inline' for styles here
 * only (never for scripts); its icons are data: URLs.
 */
export const DOCS_CSP: Directives = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  ...LOCKED_DOWN,
  'form-action': ["'self'"],
};

/** GraphiQL (development only): React and GraphiQL from unpkg, its one inline script by hash. */
export function graphiqlCsp(scriptHashes: string[]): Directives {
  return {
    'default-src': ["'none'"],
    'script-src': ['https://unpkg.com', ...scriptHashes],
    'style-src': ['https://unpkg.com', "'unsafe-inline'"],
    'img-src': ["'self'", 'data:', 'https://unpkg.com'],
    'font-src': ['https://unpkg.com', 'data:'],
    'connect-src': ["'self'"],
    ...LOCKED_DOWN,
  };
}

/** "a b; c d" → { a: [b], c: [d] } */
export function parseCsp(policy: string): Directives {
  return Object.fromEntries(
    policy
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...values]) => [name, values]),
  );
}

export interface SecurityHeadersOptions {
  /** Strict-Transport-Security max-age; 0 = no header (the api may serve plain HTTP on loopback). */
  hstsMaxAgeSeconds: number;
  /** CSP hashes of GraphiQL's inline script, or undefined when GraphiQL is off. */
  graphiqlScriptHashes?: string[];
}

/**
 * helmet on every response: nosniff, no framing (X-Frame-Options DENY and frame-ancestors 'none'),
 * Referrer-Policy no-referrer, cross-origin isolation headers, no X-Powered-By, HSTS when
 * configured, and a Content-Security-Policy chosen by surface: the dashboard, the API docs,
 * GraphiQL's page, or the strict one for everything else.
 */
export function securityHeaders(options: SecurityHeadersOptions): RequestHandler {
  const withCsp = (directives: Directives) =>
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives },
      strictTransportSecurity:
        options.hstsMaxAgeSeconds > 0
          ? { maxAge: options.hstsMaxAgeSeconds, includeSubDomains: true }
          : false,
      referrerPolicy: { policy: 'no-referrer' },
      xFrameOptions: { action: 'deny' },
    });
  const api = withCsp(API_CSP);
  const docs = withCsp(DOCS_CSP);
  const dashboard = withCsp(parseCsp(DASHBOARD_CSP));
  const graphiql = options.graphiqlScriptHashes ? withCsp(graphiqlCsp(options.graphiqlScriptHashes)) : api;
  return (req: Request, res: Response, next: NextFunction) => {
    const path = req.path;
    if (path === '/dashboard' || path.startsWith('/dashboard/')) return dashboard(req, res, next);
    if (path === '/api/docs' || path.startsWith('/api/docs/')) return docs(req, res, next);
    if (path === '/graphql' && req.method === 'GET') return graphiql(req, res, next);
    return api(req, res, next);
  };
}
