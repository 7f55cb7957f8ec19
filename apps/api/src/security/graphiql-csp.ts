import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * CSP hashes ('sha256-…') of the inline scripts of Nest's GraphiQL page for `url`, so the page
 * (development only) runs without allowing inline scripts in general. The page's HTML comes from
 * @nestjs/apollo's GraphiQLHTMLFactory, which the package does not export: it is loaded from its
 * file beside the package's entry. If a release moves it, the result is empty and GraphiQL's
 * inline script is blocked (the API itself is unaffected); the hardening test notices.
 */
export async function graphiqlScriptHashes(url: string): Promise<string[]> {
  try {
    const entry = createRequire(import.meta.url).resolve('@nestjs/apollo');
    const file = join(dirname(entry), 'graphiql', 'graphiql-html.factory.js');
    const { GraphiQLHTMLFactory } = (await import(pathToFileURL(file).href)) as {
      GraphiQLHTMLFactory: new () => { create(options: { url: string }): string };
    };
    const html = new GraphiQLHTMLFactory().create({ url });
    return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
      ([, body]) => `'sha256-${createHash('sha256').update(body).digest('base64')}'`,
    );
  } catch {
    return [];
  }
}
