/**
 * The Docker build context: which files of the repository `docker build` sends, by the rules of
 * <Dockerfile>.dockerignore as BuildKit applies them (moby/patternmatcher, docs "dockerignore"):
 *   - one pattern a line; a line whose first character is `#` is a comment; blanks around a
 *     pattern are trimmed; `!` makes an exception;
 *   - a pattern is cleaned like Go's filepath.Clean (`./a/` is `a`) and a leading `/` is dropped:
 *     every pattern is anchored at the context root (`test` is ./test, never libs/x/test);
 *   - `*` and `?` never cross a `/`; `**` matches any number of directories, none included;
 *     dot files are not special;
 *   - a pattern excludes a path when it matches the path or one of its parent directories;
 *   - the last pattern that matches decides.
 * Globs are matched by picomatch, set to Go's filepath.Match rules (dot files plain, no braces or
 * extglobs); the anchoring, parent matching and ordering above are done here.
 */
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import picomatch from 'picomatch';

export interface IgnoreRule {
  /** The cleaned pattern, without its `!`. */
  pattern: string;
  exception: boolean;
  matches(path: string): boolean;
}

function cleanPattern(pattern: string): string {
  let cleaned = posix.normalize(pattern);
  if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  if (cleaned.length > 1 && cleaned.startsWith('/')) cleaned = cleaned.slice(1);
  return cleaned;
}

/** Parses a .dockerignore file's text; `source` names it in errors. */
export function parseDockerignore(text: string, source = '.dockerignore'): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    if (raw.startsWith('#')) return;
    let pattern = raw.trim();
    if (pattern === '') return;
    const exception = pattern.startsWith('!');
    if (exception) pattern = pattern.slice(1).trim();
    if (pattern === '') throw new Error(`${source}:${index + 1}: "!" with no pattern after it`);
    pattern = cleanPattern(pattern);
    const glob = picomatch(pattern, { dot: true, nobrace: true, noextglob: true, nonegate: true });
    rules.push({ pattern, exception, matches: glob });
  });
  return rules;
}

/** 'a/b/c' -> ['a', 'a/b']. */
function parentsOf(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Whether the context leaves out `path` ('/'-separated, relative to the context root). */
export function isExcluded(rules: IgnoreRule[], path: string): boolean {
  const parents = parentsOf(path);
  let excluded = false;
  for (const rule of rules) {
    if (rule.matches(path) || parents.some((p) => rule.matches(p))) excluded = !rule.exception;
  }
  return excluded;
}

/**
 * The context's entries (files and symbolic links; '/'-separated, relative to `root`, sorted).
 * Like BuildKit, an excluded directory is not entered unless an exception could bring back
 * something inside it (then every file in it is judged on its own).
 */
export function contextFiles(root: string, rules: IgnoreRule[]): string[] {
  const anyException = rules.some((r) => r.exception);
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      const excluded = isExcluded(rules, path);
      if (entry.isDirectory()) {
        if (!excluded || anyException) walk(path);
      } else if (!excluded) {
        files.push(path);
      }
    }
  };
  walk('');
  return files.sort();
}

/** Copies the context of `root` to `dest` (modes kept, symbolic links as links); returns its entries. */
export function copyContext(root: string, rules: IgnoreRule[], dest: string): string[] {
  const files = contextFiles(root, rules);
  for (const file of files) {
    const from = join(root, file);
    const to = join(dest, file);
    mkdirSync(dirname(to), { recursive: true });
    if (lstatSync(from).isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else copyFileSync(from, to);
  }
  return files;
}
