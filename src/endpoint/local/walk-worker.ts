import { join as joinPath } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { type FilterSpec, makeFilter } from '../../core/filter.ts';
import { join, type RelPath } from '../../core/path.ts';
import { listDir } from './listing.ts';
import { type PackedListing, pack } from './listing-codec.ts';

export interface WalkData {
  root: string;
  filter: FilterSpec;
}

export type WalkMessage =
  | { type: 'batch'; dirs: RelPath[]; listings: PackedListing[] }
  | { type: 'done' };

/**
 * Walks a whole root depth-first, children in byte order (the order the engine visits them),
 * skipping what the filter excludes, and posts the listings in batches: one message per
 * directory cost ~80 us, more than listing a small directory.
 */
function walk({ root, filter: spec }: WalkData): void {
  const filter = makeFilter(spec);
  const stack: RelPath[] = [''];
  let dirs: RelPath[] = [];
  let listings: PackedListing[] = [];
  let entries = 0;
  const flush = () => {
    const transfer = listings.flatMap((l) => [
      l.nums.buffer as ArrayBuffer,
      l.bigs.buffer as ArrayBuffer,
    ]);
    parentPort?.postMessage({ type: 'batch', dirs, listings } satisfies WalkMessage, transfer);
    dirs = [];
    listings = [];
    entries = 0;
  };
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    const listing = listDir(dir === '' ? root : joinPath(root, dir), dir);
    dirs.push(dir);
    listings.push(pack(listing));
    entries += listing.entries.length + 1;
    for (let i = listing.entries.length - 1; i >= 0; i--) {
      const e = listing.entries[i];
      if (e?.kind === 'dir') {
        const path = join(dir, e.name);
        if (!filter(path, true)) stack.push(path);
      }
    }
    if (entries >= 2000) flush();
  }
  if (dirs.length > 0) flush();
  parentPort?.postMessage({ type: 'done' } satisfies WalkMessage);
}

walk(workerData as WalkData);
