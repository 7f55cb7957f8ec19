// NestJS resolves constructor dependencies and GraphQL/OpenAPI types from TypeScript's
// `design:*` decorator metadata. esbuild (the build) and Vite (the tests) strip types without
// emitting that metadata, so files that use decorators are compiled by TypeScript itself first.
// Only decorated files pay for it; everything else stays on esbuild's fast path.
import { readFile } from 'node:fs/promises';
import ts from 'typescript';

const DECORATOR = /^\s*@[A-Z][A-Za-z]*\(/m;

const compilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  useDefineForClassFields: false,
  sourceMap: false,
  inlineSourceMap: true,
  inlineSources: true,
};

/** Compiles `source` with decorator metadata if it has decorators; otherwise returns null. */
export function transpileDecorated(source, fileName) {
  if (!fileName.endsWith('.ts') || fileName.endsWith('.d.ts') || !DECORATOR.test(source)) return null;
  return ts.transpileModule(source, { compilerOptions, fileName }).outputText;
}

/** esbuild plugin. */
export const decoratorMetadataPlugin = {
  name: 'decorator-metadata',
  setup(build) {
    build.onLoad({ filter: /[\\/](apps|libs)[\\/].*\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const js = transpileDecorated(source, args.path);
      return js === null ? undefined : { contents: js, loader: 'js' };
    });
  },
};

/** Vite / Vitest plugin. */
export function viteDecoratorMetadata() {
  return {
    name: 'decorator-metadata',
    enforce: 'pre',
    transform(code, id) {
      const file = id.split('?')[0];
      if (file.includes('/node_modules/')) return null;
      const js = transpileDecorated(code, file);
      return js === null ? null : { code: js, map: null };
    },
  };
}
