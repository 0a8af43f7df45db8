import {
  chmodSync,
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmdirSync,
  unlinkSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { foldName } from '../../core/case-fold.ts';
import type { Entry, Meta } from '../../core/entry.ts';
import type { FilterSpec } from '../../core/filter.ts';
import { packedEntry, WORDS } from '../../core/packed.ts';
import { basename, numberedName, parent, type RelPath } from '../../core/path.ts';
import { ABSENT, type Precondition } from '../../core/plan.ts';
import {
  type Capabilities,
  ChangedDuringSync,
  type Endpoint,
  type Listing,
  type PackedListing,
  type WriteSource,
} from '../endpoint.ts';
import {
  type BytesHasher,
  type Copied,
  copyFileAtomic,
  SMALL_FILE,
  setMtime,
  symlinkAtomic,
  writeFileAtomic,
} from './copy-file.ts';
import { FileHasher } from './hash-file.ts';
import { isTempName, listDirPacked, tryUnlink, unpackListing } from './listing.ts';
import { renameNoReplace } from './move.ts';
import { type NativeHasher, nativeCopier, nativeHasher, nativeLister } from './native.ts';
import { NativeCopies } from './native-copy.ts';
import { NativeHashes, nativeHashFile } from './native-hash.ts';
import { NativeWalkAhead } from './native-walk.ts';
import type { WorkerPool } from './pool.ts';
import { checkPrecondition } from './precondition.ts';
import { probeCapabilities } from './probe.ts';
import { entryOf, kindOf, lstatOrUndefined, OPEN_TO_READ, unchangedFile } from './stat.ts';
import { rawStatInto, type StatInto, statIntoSlow } from './stat-words.ts';
import { ensureStateDir } from './state-dir.ts';
import { WalkAhead } from './walk-ahead.ts';

export { STATE_DIR, TEMP_PREFIX } from './listing.ts';

const COPIES_BEFORE_POOL = 200;

export interface LocalOptions {
  /** Absolute, resolved path of the root. */
  root: string;
  /** How the user named it. */
  uri?: string;
  /** Absolute directory receiving removed and overwritten entries; none: removed for good. */
  trashDir?: string | undefined;
  /** fsync each written file before renaming it into place. */
  fsync?: boolean;
  /** Worker threads for local copies; without one, copies run on this thread. */
  pool?: WorkerPool | undefined;
  /** Copies done on this thread before the pool takes over (default 200). */
  copiesBeforePool?: number | undefined;
  /** Walk the root ahead of the engine when asked to (default true). */
  walkThread?: boolean;
  /**
   * List with the native lister, and copy new small files with the native copy, where the
   * addon was built (default true); false does both in JavaScript (walking ahead on a thread,
   * copying on the pool), as where the addon is missing.
   */
  native?: boolean;
}

/**
 * A root on the local file system. Calls are synchronous underneath (on 2 cores a loop of sync
 * readdir/lstat is 2-5x faster than promise-based fs, STACK.md), on a worker pool when one is
 * given so that both roots are walked, and files copied, on both cores at once.
 */
export class LocalEndpoint implements Endpoint {
  readonly uri: string;
  readonly root: string;
  private readonly opts: LocalOptions;
  private hasher: FileHasher | undefined;
  private nativeHashes: NativeHashes | undefined;
  private hashes = 0;
  private walker: WalkAhead | NativeWalkAhead | undefined;
  private statInto: StatInto | undefined;
  private stateDirReady = false;
  private copies = 0;
  private nativeCopies: NativeCopies | undefined;
  private walkEnded = false;
  private readonly quick = new Int32Array(WORDS);
  /** The root with one trailing slash. */
  private readonly prefix: string;
  /** Paths whose place in this run's trash is known to be a real directory. */
  private readonly trashDirs = new Set<RelPath>();
  private caps: Capabilities | undefined;

  constructor(opts: LocalOptions) {
    this.opts = opts;
    this.root = opts.root;
    this.uri = opts.uri ?? opts.root;
    this.prefix = opts.root.endsWith('/') ? opts.root : `${opts.root}/`;
  }

  localPath(path: RelPath): string {
    // A RelPath is normalized (core/path.ts), so concatenation is exact; path.join normalizes
    // again, and left ~2 KB of garbage per call (113 MB in a first two-way sync of 50k files).
    return path === '' ? this.root : `${this.prefix}${path}`;
  }

  async capabilities(): Promise<Capabilities> {
    this.caps ??= probeCapabilities(this.root);
    return this.caps;
  }

  async rootIdentity(): Promise<string | undefined> {
    const st = lstatOrUndefined(this.root);
    return st?.isDirectory() ? `dev ${st.dev}` : undefined;
  }

  async stat(path: RelPath): Promise<Entry | undefined> {
    const abs = this.localPath(path);
    const st = lstatOrUndefined(abs);
    return st && entryOf(basename(path), abs, st);
  }

  statQuick(path: RelPath): Entry | undefined {
    // The raw binding into one reused buffer: lstatSync's BigIntStats (18 BigInts and four
    // Dates) per written file was most of a first two-way sync's garbage.
    this.statInto ??= rawStatInto(this.root) ?? statIntoSlow;
    const code = this.statInto(this.localPath(path), this.quick, 0);
    if (code === undefined || code < 0) return undefined;
    return packedEntry({ names: '', words: this.quick, targets: [] }, 0, basename(path));
  }

  walkAhead(filter: FilterSpec, o: { ifCheap?: boolean } = {}): void {
    if (this.opts.walkThread === false || this.walkEnded) return;
    const lister = this.opts.native === false ? undefined : nativeLister();
    if (o.ifCheap && !lister) return;
    this.walker ??= lister
      ? new NativeWalkAhead(this.root, filter, lister)
      : new WalkAhead(this.root, filter);
  }

  async endWalk(): Promise<void> {
    const w = this.walker;
    this.walker = undefined;
    this.walkEnded = true;
    await w?.close();
  }

  async list(dir: RelPath): Promise<Listing> {
    return unpackListing(await this.listPacked(dir));
  }

  async listPacked(dir: RelPath): Promise<PackedListing> {
    const ahead = await this.walker?.take(dir);
    // The raw lstat binding, checked against lstatSync on the root, once.
    this.statInto ??= rawStatInto(this.root) ?? statIntoSlow;
    return ahead ?? listDirPacked(this.localPath(dir), dir, this.statInto, this.opts.native);
  }

  /** The addon's XXH3-128, unless this endpoint was told not to use the addon. */
  private hashInC(): NativeHasher | undefined {
    return this.opts.native === false ? undefined : nativeHasher();
  }

  /** XXH3-128 of bytes in memory: in C when the addon is there, else hash-wasm's. */
  private bytesHasher(): Promise<BytesHasher> {
    const native = this.hashInC();
    if (native) return Promise.resolve((bytes) => native.hashBytes(bytes));
    this.hasher ??= new FileHasher();
    return this.hasher.bytesHasher();
  }

  hash(path: RelPath, expect: Entry): Promise<string> {
    const job = { abs: this.localPath(path), expect, shown: path };
    // As for copies: threads pay off only past a few hundred files (the few hashes of an edit
    // run are done here, without waiting behind listings on libuv's pool).
    const before = this.opts.copiesBeforePool ?? COPIES_BEFORE_POOL;
    const native = this.hashInC();
    if (native) {
      if (++this.hashes <= before) return Promise.resolve().then(() => nativeHashFile(native, job));
      this.nativeHashes ??= new NativeHashes(native);
      return this.nativeHashes.hash(job);
    }
    if (this.opts.pool && ++this.hashes > before) return this.opts.pool.hash(job);
    this.hasher ??= new FileHasher();
    return this.hasher.hash(job);
  }

  async *read(path: RelPath, expect: Entry): AsyncIterable<Uint8Array> {
    const fd = openSync(this.localPath(path), OPEN_TO_READ);
    try {
      const before = fstatSync(fd, { bigint: true });
      if (!unchangedFile(before, expect))
        throw new ChangedDuringSync('source', `${path} changed before it was read`);
      for (;;) {
        const chunk = Buffer.allocUnsafe(SMALL_FILE);
        const n = readSync(fd, chunk, 0, chunk.length, null);
        if (n === 0) break;
        yield chunk.subarray(0, n);
      }
      const after = fstatSync(fd, { bigint: true });
      if (
        after.size !== before.size ||
        after.mtimeNs !== before.mtimeNs ||
        after.ctimeNs !== before.ctimeNs
      ) {
        throw new ChangedDuringSync('source', `${path} changed while it was copied`);
      }
    } finally {
      closeSync(fd);
    }
  }

  async write(path: RelPath, source: WriteSource, meta: Meta, pre: Precondition): Promise<number> {
    const dst = this.localPath(path);
    const trashPath = pre.type === 'same' ? this.trashPath(path) : undefined;
    const fsync = this.opts.fsync ?? false;
    if (source.type === 'stream') {
      return writeFileAtomic(dst, source.data, meta, pre, path, trashPath, fsync);
    }
    const hash = source.onHash !== undefined;
    const job = {
      src: source.path,
      expect: source.expect,
      dst,
      shown: path,
      ...meta,
      pre,
      trashPath,
      fsync,
      hash,
    };
    const copier = this.opts.native !== false && NativeCopies.takes(job) && nativeCopier();
    // The first copies run here: two pool threads cost ~60 ms to start, more than a few
    // hundred small copies.
    const before = this.opts.copiesBeforePool ?? COPIES_BEFORE_POOL;
    let done: Copied;
    if (copier) {
      this.nativeCopies ??= new NativeCopies(copier);
      done = await this.nativeCopies.copy(job);
    } else if (this.opts.pool && ++this.copies > before) done = await this.opts.pool.copy(job);
    else {
      // Awaited either way: the copy runs after the caller's current step, as a pool's does.
      done = copyFileAtomic(job, hash ? await this.bytesHasher() : await undefined);
    }
    if (done.hash !== undefined) source.onHash?.(done.hash);
    return done.bytes;
  }

  async symlink(path: RelPath, target: string, meta: Meta, pre: Precondition): Promise<void> {
    const trashPath = pre.type === 'same' ? this.trashPath(path) : undefined;
    symlinkAtomic(this.localPath(path), target, meta.mtimeNs, pre, path, trashPath);
  }

  async mkdir(path: RelPath, pre: Precondition): Promise<void> {
    const abs = this.localPath(path);
    checkPrecondition(abs, pre, path);
    mkdirSync(abs, { mode: 0o700 });
  }

  async setMeta(path: RelPath, kind: Entry['kind'], meta: Meta, pre: Precondition): Promise<void> {
    const abs = this.localPath(path);
    checkPrecondition(abs, pre, path);
    if (kind !== 'symlink') chmodSync(abs, meta.mode);
    setMtime(abs, meta.mtimeNs, kind !== 'symlink', this.opts.native !== false);
  }

  async remove(path: RelPath, pre: Precondition): Promise<void> {
    const abs = this.localPath(path);
    checkPrecondition(abs, pre, path);
    const isDir = pre.type === 'dir' || (pre.type === 'same' && pre.entry.kind === 'dir');
    const trash = this.trashPath(path);
    if (isDir) {
      // Children went first; what is left was excluded or unreadable, and stays (ENOTEMPTY).
      rmdirSync(abs);
      if (trash) mkdirSync(trash, { recursive: true });
      return;
    }
    if (trash) {
      mkdirSync(dirname(trash), { recursive: true });
      renameSync(abs, freeName(trash));
    } else {
      unlinkSync(abs);
    }
  }

  async move(from: RelPath, to: RelPath, pre: Precondition): Promise<void> {
    const src = this.localPath(from);
    const dst = this.localPath(to);
    checkPrecondition(src, pre, from);
    if (parent(from) === parent(to) && foldName(from) === foldName(to)) {
      // A case-only rename: on a case-insensitive root `to` already finds `from` itself, so
      // the test for a distinct entry there is its exact name in the listing; rename(2) then
      // changes the case in place (link would fail with EEXIST).
      if (readdirSync(this.localPath(parent(to))).includes(basename(to)))
        throw new ChangedDuringSync('target', `${to} appeared on the target during the sync`);
      renameSync(src, dst);
      return;
    }
    checkPrecondition(dst, ABSENT, to);
    if (!renameNoReplace(src, dst, { native: this.opts.native !== false, root: this.root }))
      throw new ChangedDuringSync('target', `${to} appeared on the target during the sync`);
  }

  async discard(path: RelPath): Promise<void> {
    if (!isTempName(basename(path))) throw new Error(`${path} is not a temporary file of ours`);
    tryUnlink(this.localPath(path));
  }

  async close(): Promise<void> {
    await this.walker?.close();
  }

  private trashPath(path: RelPath): string | undefined {
    if (this.opts.trashDir === undefined) return undefined;
    this.ensureStateDir();
    this.checkTrashParents(this.opts.trashDir, path);
    return `${this.opts.trashDir}/${path}`;
  }

  /**
   * The trash mirrors paths, and mkdir -p and rename follow symlinks: a symlink (or file) this
   * run trashed at an ancestor of `path` must never be walked through to reach `path`'s place.
   * A trashed symlink may point anywhere, outside the root too; the two-way property soak found
   * one pointing at itself (ELOOP), when a directory moved under a path whose symlink the run
   * had replaced and something below it was then replaced too. Such an entry is left in place,
   * and the run reports it; the next run trashes into a folder of its own.
   */
  private checkTrashParents(trashDir: string, path: RelPath): void {
    const dirs: RelPath[] = [];
    for (let q = parent(path); q !== ''; q = parent(q)) dirs.push(q);
    for (let i = dirs.length - 1; i >= 0; i--) {
      const q = dirs[i] as RelPath;
      if (this.trashDirs.has(q)) continue;
      const st = lstatOrUndefined(`${trashDir}/${q}`);
      if (st === undefined) return; // made below here by this entry, as directories
      if (!st.isDirectory())
        throw new Error(
          `cannot keep ${path} in the trash: this run trashed ${q} there as a ${kindOf(st) ?? 'special file'}; run again`,
        );
      this.trashDirs.add(q);
    }
  }

  private ensureStateDir(): void {
    if (this.stateDirReady) return;
    this.stateDirReady = true;
    ensureStateDir(this.root);
  }
}

/** rename() replaces what is there: never let a kept version be replaced (S7). */
function freeName(p: string): string {
  let candidate = p;
  for (let n = 2; lstatOrUndefined(candidate); n++) candidate = numberedName(p, n);
  return candidate;
}
