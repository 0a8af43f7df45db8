import { createRequire } from 'node:module';
import type { Ignore, Options } from 'ignore';
import type { RelPath } from './path.ts';

export interface FilterRule {
  type: 'exclude' | 'include';
  pattern: string;
}

/** Decides whether a path is left out of the sync. */
export type Filter = (path: RelPath, isDir: boolean) => boolean;

export const NO_FILTER: Filter = () => false;

/** The filter as data, so a walker on another thread (or host) can build the same one. */
export interface FilterSpec {
  rules: readonly FilterRule[];
  ignoreFileText: string;
}

export const IGNORE_FILE = '.concordignore';

/**
 * gitignore semantics: the lines of `.concordignore` first, then the command line's rules in
 * the order given, `--include P` acting as the negation `!P`; the last matching rule wins.
 * As in git, a file inside an excluded directory cannot be re-included (the directory is never
 * walked).
 */
export function makeFilter({ rules, ignoreFileText }: FilterSpec): Filter {
  const lines = rules.map((r) => (r.type === 'include' ? `!${r.pattern}` : r.pattern));
  if (lines.length === 0 && ignoreFileText.trim() === '') return NO_FILTER;
  const ig = loadIgnore()().add(ignoreFileText).add(lines);
  return (path, isDir) => ig.ignores(isDir ? `${path}/` : path);
}

/**
 * `ignore` is pure pattern matching (no I/O), so the core may use it. Loaded only when there
 * are rules: most runs have none, and parsing the module cost a few ms on each thread.
 */
function loadIgnore(): (options?: Options) => Ignore {
  return createRequire(import.meta.url)('ignore') as (options?: Options) => Ignore;
}

/** Whether `filter` leaves `path` out, or a folder above it (a walk then never gets there). */
export function leavesOut(filter: Filter, path: RelPath): boolean {
  const parts = path.split('/');
  for (let i = 1; i <= parts.length; i++)
    if (filter(parts.slice(0, i).join('/'), true)) return true;
  return false;
}

/** The rule that leaves out the folder `path` and nothing else: anchored, metacharacters escaped. */
export function folderRule(path: RelPath): FilterRule {
  return { type: 'exclude', pattern: `/${path.replace(/[\\*?[\]!#]/g, '\\$&')}/` };
}
