import { type FilterSpec, makeFilter, NO_FILTER } from '../../core/filter.ts';
import { KIND_DIR, NAME_SEP, W_KIND, WORDS } from '../../core/packed.ts';
import { join, type RelPath } from '../../core/path.ts';
import type { PackedListing } from '../endpoint.ts';
import { Handout } from './handout.ts';
import { listDirPacked, nativeArgs, packedFromNative } from './listing.ts';
import type { NativeLister, NativeListing } from './native.ts';

/** Calls to the lister at once, per root (libuv's pool has 4 threads, for both roots). */
const IN_FLIGHT = 4;
/** Directories found so far given to one call (each call costs the main thread ~20-70 us). */
const BATCH = 16;
/**
 * Without a filter, a call also goes down below the directories it was given, in C,
 * depth-first, until it holds this many listings: the walk stays ahead of the engine, which
 * visits in the same order. With one, JavaScript decides each step down (gitignore rules).
 */
const DEEP = 64;

/**
 * A whole-root walk ahead of the engine, as WalkAhead does on a thread of its own, but with
 * the native lister on libuv's pool: no thread to start (~50 ms each), no listing copied
 * between threads, and the main thread only turns each finished listing into a PackedListing.
 * Directories are listed depth-first, children in byte order (the engine's order); one the
 * engine waits for jumps the queue. A listing is handed out once and then dropped.
 */
export class NativeWalkAhead {
  private readonly handout = new Handout();
  /** Directories found and not yet asked for, the next one last. */
  private readonly stack: RelPath[] = [];
  /** The directories on the stack not asked for yet. */
  private readonly queued = new Set<RelPath>();
  /** Every directory whose listing was kept (a second listing of it is dropped). */
  private readonly listed = new Set<RelPath>();
  /** Directories given to a call not answered yet. */
  private readonly inFlight = new Set<RelPath>();
  /** Calls to the lister not answered yet. */
  private calls = 0;
  private readonly excluded: (path: RelPath, isDir: boolean) => boolean;
  private readonly deep: boolean;
  private readonly prefix: string;
  private failure: Error | undefined;
  private closed = false;
  private drained: (() => void) | undefined;
  private readonly root: string;
  private readonly lister: NativeLister;

  constructor(root: string, filter: FilterSpec, lister: NativeLister) {
    this.root = root;
    this.lister = lister;
    this.excluded = makeFilter(filter);
    this.deep = this.excluded === NO_FILTER;
    this.prefix = root.endsWith('/') ? root : `${root}/`;
    // The root alone: it skips its state folder, the others nothing.
    this.ask(['']);
  }

  /** The listing of `dir`, or undefined when the walk will not produce it (list it directly). */
  async take(dir: RelPath): Promise<PackedListing | undefined> {
    const l = this.handout.take(dir);
    if (l) return l;
    if (this.failure) throw this.failure;
    // Handed out already: the engine lists it again itself.
    if (this.closed || this.listed.has(dir)) return undefined;
    // Found and not asked for yet: ask now. Not found yet: its parent's listing is on its way
    // (asking now would list it twice), or the walk will never find it (answered at the end).
    if (this.queued.has(dir)) this.ask([dir]);
    else if (!this.inFlight.has(dir) && this.calls === 0) return undefined;
    return this.handout.wait(dir);
  }

  /** Stops asking; resolves once no call is in flight (no listing arrives after this). */
  close(): Promise<void> {
    this.closed = true;
    this.handout.clear();
    if (this.calls === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained = resolve;
    });
  }

  private pump(): void {
    while (this.calls < IN_FLIGHT && !this.closed && !this.failure) {
      const dirs: RelPath[] = [];
      while (dirs.length < BATCH) {
        const dir = this.stack.pop();
        if (dir === undefined) break;
        if (!this.asked(dir)) dirs.push(dir);
      }
      if (dirs.length === 0) break;
      this.ask(dirs);
    }
    // The walk is over: what the engine still waits for, it lists itself.
    if (this.calls === 0 && this.stack.length === 0) this.handout.endWaits();
  }

  private ask(dirs: RelPath[]): void {
    this.calls++;
    for (const dir of dirs) {
      this.queued.delete(dir);
      this.inFlight.add(dir);
    }
    const abs = dirs.map((dir) => this.abs(dir));
    const [skip, tempPrefix] = nativeArgs(dirs[0] as RelPath);
    const budget = this.deep ? DEEP : 0;
    this.lister.listAsync(abs, skip, tempPrefix, budget, (err, result) =>
      this.arrive(dirs, err, result),
    );
  }

  /** Listed, or on its way: never asked for again. */
  private asked(dir: RelPath): boolean {
    return this.listed.has(dir) || this.inFlight.has(dir);
  }

  private abs(dir: RelPath): string {
    return dir === '' ? this.root : this.prefix + dir;
  }

  private arrive(dirs: RelPath[], err: unknown, result: [NativeListing[], string[]]): void {
    this.calls--;
    for (const dir of dirs) this.inFlight.delete(dir);
    if (this.closed) {
      if (this.calls === 0) this.drained?.();
      return;
    }
    if (this.failure) return;
    const kept: [RelPath, PackedListing][] = [];
    try {
      if (err) throw err instanceof Error ? err : new Error(String(err));
      const listings = result[0];
      const paths = result[1];
      // Past the directories asked for come those found below them.
      listings.forEach((r, i) => {
        const dir =
          i < dirs.length ? (dirs[i] as RelPath) : (paths[i] as string).slice(this.prefix.length);
        if (this.listed.has(dir)) return;
        this.listed.add(dir);
        this.queued.delete(dir);
        const at = this.abs(dir);
        // A name that is not valid UTF-8: the JavaScript listing reports it.
        kept.push([dir, packedFromNative(r, at, dir) ?? listDirPacked(at, dir, undefined, false)]);
      });
    } catch (e) {
      // A lister that failed fails the run: a silent fallback would hide the bug.
      this.fail(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    // The first directory's children end on top of the stack: they are asked for next.
    for (let i = kept.length - 1; i >= 0; i--)
      this.descend(...(kept[i] as [RelPath, PackedListing]));
    for (const [dir, l] of kept) this.handout.give(dir, l);
    this.pump();
  }

  /** Pushes the subdirectories not listed yet that the filter keeps, the first one last. */
  private descend(dir: RelPath, l: PackedListing): void {
    const { names, words } = l.packed;
    const count = words.length / WORDS;
    const found: RelPath[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      const end = i === count - 1 ? names.length : names.indexOf(NAME_SEP, at);
      if (words[i * WORDS + W_KIND] === KIND_DIR) {
        const path = join(dir, names.slice(at, end));
        if (!this.asked(path) && !this.excluded(path, true)) found.push(path);
      }
      at = end + 1;
    }
    for (let i = found.length - 1; i >= 0; i--) {
      this.stack.push(found[i] as RelPath);
      this.queued.add(found[i] as RelPath);
    }
  }

  private fail(err: Error): void {
    this.failure = err;
    this.handout.endWaits(err);
  }
}
