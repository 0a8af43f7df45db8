import { parentPort } from 'node:worker_threads';
import { type FilterSpec, makeFilter } from '../../core/filter.ts';
import { KIND_DIR, NAME_SEP, W_KIND, WORDS } from '../../core/packed.ts';
import { join, type RelPath } from '../../core/path.ts';
import type { PackedListing } from '../endpoint.ts';
import { listInto } from './listing.ts';
import { PackWriter } from './listing-codec.ts';
import { rawStatInto, statIntoSlow } from './stat-words.ts';

/** The one message a walker waits for (it may be started before the roots are known). */
export interface WalkData {
  root: string;
  filter: FilterSpec;
}

/** What a listing holds besides its entries, when it holds anything. */
export type WalkRest = Omit<PackedListing, 'packed'> & { targets: string[] };

/**
 * One batch of listings: `counts[i]` entries of `dirs[i]`, named `names[i]`, their words
 * one after another in `words` (one transferred buffer for the whole batch).
 */
export type WalkMessage =
  | {
      type: 'batch';
      dirs: RelPath[];
      names: string[];
      counts: number[];
      words: Int32Array;
      /** 0 when the listing is complete, has no problems, leftovers or symlinks. */
      rests: (WalkRest | 0)[];
    }
  | { type: 'done' };

/**
 * Walks a whole root depth-first, children in byte order (the order the engine visits them),
 * skipping what the filter excludes, and posts the listings in batches: one message per
 * directory cost ~80 us, more than listing a small directory.
 */
function walk({ root, filter: spec }: WalkData): void {
  const filter = makeFilter(spec);
  const stat = rawStatInto(root) ?? statIntoSlow;
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const stack: RelPath[] = [''];
  const out = new PackWriter();
  let dirs: RelPath[] = [];
  let names: string[] = [];
  let counts: number[] = [];
  let rests: (WalkRest | 0)[] = [];
  const flush = () => {
    const words = out.take();
    parentPort?.postMessage(
      { type: 'batch', dirs, names, counts, words, rests } satisfies WalkMessage,
      [words.buffer as ArrayBuffer],
    );
    dirs = [];
    names = [];
    counts = [];
    rests = [];
  };
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    const l = listInto(dir === '' ? root : prefix + dir, dir, out, stat);
    dirs.push(dir);
    names.push(l.names.join(NAME_SEP));
    counts.push(l.names.length);
    const plain = l.complete && l.problems.length === 0 && !l.leftovers && l.targets.length === 0;
    if (plain) rests.push(0);
    else {
      const rest: WalkRest = { targets: l.targets, problems: l.problems, complete: l.complete };
      if (l.leftovers) rest.leftovers = l.leftovers;
      rests.push(rest);
    }
    const words = out.words();
    for (let i = l.names.length - 1; i >= 0; i--) {
      if (words[(l.first + i) * WORDS + W_KIND] === KIND_DIR) {
        const path = join(dir, l.names[i] as string);
        if (!filter(path, true)) stack.push(path);
      }
    }
    if (out.count + dirs.length >= 2000) flush();
  }
  if (dirs.length > 0) flush();
  parentPort?.postMessage({ type: 'done' } satisfies WalkMessage);
}

parentPort?.once('message', walk);
