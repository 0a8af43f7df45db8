import type { FilterSpec } from '../core/filter.ts';
import { join } from '../core/path.ts';
import type { Problem } from '../core/problem.ts';
import type { Endpoint } from '../endpoint/endpoint.ts';
import { DirCache, finishScan, type HashCache } from './hash-cache.ts';
import { hashOrReport } from './hash-entry.ts';
import { HASH_BATCH, inBatches } from './in-batches.ts';
import { walkRoot } from './walk.ts';

export interface IndexCounts {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  /** Files read and hashed by this run. */
  hashedNow: number;
  /** Files whose remembered hash still held. */
  reused: number;
  problems: Problem[];
}

/** Directories whose hashing may be in flight at once (bounds memory, keeps both cores busy). */
const DIRS_IN_FLIGHT = 64;

/**
 * Brings a root's file index up to date: stats every entry (cheap) and reads only the files
 * whose remembered hash no longer holds (hash-reuse.ts says when). Hashing runs on the
 * endpoint's thread pool while the walk goes on.
 */
export async function refreshIndex(
  ep: Endpoint,
  cache: HashCache,
  filter: FilterSpec,
  onDir?: (counts: IndexCounts) => void,
): Promise<IndexCounts> {
  const counts: IndexCounts = {
    files: 0,
    dirs: 0,
    symlinks: 0,
    bytes: 0,
    hashedNow: 0,
    reused: 0,
    problems: [],
  };
  const inFlight = new Set<Promise<void>>();
  try {
    for await (const w of walkRoot(ep, filter)) {
      counts.problems.push(...w.problems);
      const dc = new DirCache(cache, w.dir);
      const unknown = dc.fill(w.entries);
      counts.reused += dc.reused;
      for (const e of w.entries) {
        if (e.kind === 'dir') counts.dirs++;
        else if (e.kind === 'symlink') counts.symlinks++;
        else {
          counts.files++;
          counts.bytes += e.size;
        }
      }
      const read = dc.through((p, x) => ep.hash(p, x));
      const done = inBatches(
        unknown,
        (e) =>
          hashOrReport(e, join(w.dir, e.name), read, counts.problems).then((ok) => {
            if (ok) counts.hashedNow++;
          }),
        HASH_BATCH,
      ).then(() => {
        // A file that could not be hashed is recorded without a hash: read again next time.
        dc.record(w.entries, w.complete, w.packed);
        onDir?.(counts);
      });
      inFlight.add(done);
      const forget = () => inFlight.delete(done);
      done.then(forget, forget);
      if (inFlight.size >= DIRS_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    finishScan(cache);
    cache.index.markIndexed(cache.nowMs());
    return counts;
  } catch (err) {
    await Promise.allSettled(inFlight);
    cache.index.abandon();
    throw err;
  }
}
