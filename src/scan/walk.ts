import type { Entry } from '../core/entry.ts';
import { type FilterSpec, makeFilter } from '../core/filter.ts';
import { type PackedEntries, unpackEntries } from '../core/packed.ts';
import { join, type RelPath } from '../core/path.ts';
import type { Problem } from '../core/problem.ts';
import type { Endpoint, Listing, PackedListing } from '../endpoint/endpoint.ts';

export interface WalkedDir {
  dir: RelPath;
  /** Children the filter keeps, in byte order of names. */
  entries: Entry[];
  complete: boolean;
  problems: Problem[];
  /** The listing `entries` came from, when it was packed and the filter kept all of it. */
  packed?: PackedEntries;
}

/**
 * Every directory of a root, parent first, depth-first in byte order, with the children the
 * filter keeps. Listings run ahead (on the endpoint's walker thread when it has one), so the
 * caller's work on one directory overlaps the listing of the next ones.
 */
export async function* walkRoot(ep: Endpoint, spec: FilterSpec): AsyncGenerator<WalkedDir> {
  const filter = makeFilter(spec);
  const list = (dir: RelPath): Promise<Listing | PackedListing> => {
    const p = ep.listPacked ? ep.listPacked(dir) : ep.list(dir);
    p.catch(() => {}); // awaited when its turn comes
    return p;
  };
  const stack: { dir: RelPath; listing: Promise<Listing | PackedListing> }[] = [
    { dir: '', listing: list('') },
  ];
  let first = true;
  for (let next = stack.pop(); next; next = stack.pop()) {
    const l = await next.listing;
    if (first) {
      ep.walkAhead?.(spec);
      first = false;
    }
    const all = 'packed' in l ? unpackEntries(l.packed) : l.entries;
    const entries = all.filter((e) => !filter(join(next.dir, e.name), e.kind === 'dir'));
    const whole = 'packed' in l && entries.length === all.length ? { packed: l.packed } : {};
    yield { dir: next.dir, entries, complete: l.complete, problems: l.problems, ...whole };
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i] as Entry;
      if (e.kind === 'dir') {
        const dir = join(next.dir, e.name);
        stack.push({ dir, listing: list(dir) });
      }
    }
  }
}
