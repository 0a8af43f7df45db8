import type { Entry } from '../core/entry.ts';
import type { RelPath } from '../core/path.ts';
import { type Problem, problem } from '../core/problem.ts';
import { ChangedDuringSync } from '../endpoint/endpoint.ts';
import { errText } from '../errors.ts';

/**
 * Sets `e.hash` through `hashFile`; resolves true once hashed, false when the file could not be
 * read or changed while it was, which goes into `problems` (the file is then left alone).
 *
 * A promise chain, not an async function: scans call this once per file, and an async function
 * suspended per file allocated ~1 KB each (a first --checksum mirror of 50,000 files went from
 * ~590 MB allocated to ~360 MB without them, in this and DirCache.hash).
 */
export function hashOrReport(
  e: Entry,
  path: RelPath,
  hashFile: (path: RelPath, e: Entry) => Promise<string>,
  problems: Problem[],
  side?: 'A' | 'B',
): Promise<boolean> {
  let hashing: Promise<string>;
  try {
    hashing = hashFile(path, e);
  } catch (err) {
    hashing = Promise.reject(err);
  }
  return hashing.then(
    (hash) => {
      e.hash = hash;
      return true;
    },
    (err: unknown) => {
      const code = err instanceof ChangedDuringSync ? 'changed-during-sync' : 'unreadable';
      const message = `cannot hash: ${errText(err)}`;
      problems.push(problem(path, code, message, side === undefined ? {} : { side }));
      return false;
    },
  );
}
