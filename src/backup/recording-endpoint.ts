import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { Entry, Meta } from '../core/entry.ts';
import type { FilterSpec } from '../core/filter.ts';
import { numberedName, type RelPath } from '../core/path.ts';
import type { Precondition } from '../core/plan.ts';
import type {
  Capabilities,
  Endpoint,
  Listing,
  PackedListing,
  WriteSource,
} from '../endpoint/endpoint.ts';
import type { LocalEndpoint } from '../endpoint/local/local.ts';
import type { Catalog } from './catalog.ts';

/**
 * B's endpoint during a backup (or an in-place restore): the local endpoint does the work,
 * with its trash pointed at the run's folder under history/, and after each change succeeds
 * the catalog records it (S15: never before). Overwritten and removed versions are moved or
 * hard-linked there by the endpoint itself, so keeping one costs no copy (S25).
 */
export class RecordingEndpoint implements Endpoint {
  readonly uri: string;
  private readonly inner: LocalEndpoint;
  private readonly catalog: Catalog;
  private readonly run: number;
  /** The run's folder, relative to history/. */
  private readonly runDir: string;

  constructor(inner: LocalEndpoint, catalog: Catalog, run: number, runDir: string) {
    this.inner = inner;
    this.uri = inner.uri;
    this.catalog = catalog;
    this.run = run;
    this.runDir = runDir;
  }

  capabilities(): Promise<Capabilities> {
    return this.inner.capabilities();
  }
  stat(path: RelPath): Promise<Entry | undefined> {
    return this.inner.stat(path);
  }
  statQuick(path: RelPath): Entry | undefined {
    return this.inner.statQuick(path);
  }
  list(dir: RelPath): Promise<Listing> {
    return this.inner.list(dir);
  }
  listPacked(dir: RelPath): Promise<PackedListing> {
    return this.inner.listPacked(dir);
  }
  walkAhead(filter: FilterSpec, o?: { ifCheap?: boolean }): void {
    this.inner.walkAhead(filter, o);
  }
  endWalk(): Promise<void> {
    return this.inner.endWalk();
  }
  hash(path: RelPath, expect: Entry): Promise<string> {
    return this.inner.hash(path, expect);
  }
  read(path: RelPath, expect: Entry): AsyncIterable<Uint8Array> {
    return this.inner.read(path, expect);
  }
  localPath(path: RelPath): string {
    return this.inner.localPath(path);
  }
  rootIdentity(): Promise<string | undefined> {
    return this.inner.rootIdentity();
  }
  discard(path: RelPath): Promise<void> {
    return this.inner.discard(path);
  }
  close(): Promise<void> {
    return this.inner.close();
  }

  async write(path: RelPath, source: WriteSource, meta: Meta, pre: Precondition): Promise<number> {
    const n = await this.inner.write(path, source, meta, pre);
    await this.recordReplaced(path, pre);
    return n;
  }

  async symlink(path: RelPath, target: string, meta: Meta, pre: Precondition): Promise<void> {
    await this.inner.symlink(path, target, meta, pre);
    await this.recordReplaced(path, pre);
  }

  async mkdir(path: RelPath, pre: Precondition): Promise<void> {
    await this.inner.mkdir(path, pre);
    await this.recordReplaced(path, pre);
  }

  async setMeta(path: RelPath, kind: Entry['kind'], meta: Meta, pre: Precondition): Promise<void> {
    await this.inner.setMeta(path, kind, meta, pre);
    const now = await this.inner.stat(path);
    if (now) this.catalog.metaChanged(this.run, path, now);
  }

  async remove(path: RelPath, pre: Precondition): Promise<void> {
    await this.inner.remove(path, pre);
    const old = pre.type === 'same' ? pre.entry : undefined;
    const stored = old && old.kind !== 'dir' ? this.storedAt(path, old) : undefined;
    this.catalog.removed(this.run, path, old, stored);
  }

  async move(from: RelPath, to: RelPath, pre: Precondition): Promise<void> {
    await this.inner.move(from, to, pre);
    this.catalog.moved(this.run, from, to);
  }

  private async recordReplaced(path: RelPath, pre: Precondition): Promise<void> {
    const now = await this.inner.stat(path);
    if (!now) return;
    const old = pre.type === 'same' ? pre.entry : undefined;
    const stored = old && old.kind !== 'dir' ? this.storedAt(path, old) : undefined;
    this.catalog.replaced(this.run, path, old, now, stored);
  }

  /**
   * Where the endpoint put the displaced version of `path` (its inode), relative to history/:
   * the same path under the run's folder, or a `~N` name when that was taken.
   */
  storedAt(path: RelPath, old: Pick<Entry, 'ino' | 'size'>): string | undefined {
    return findStored(this.catalog.historyDir, this.runDir, path, old);
  }
}

/**
 * The displaced copy of `path` (the inode of `old`) under `historyDir/runDir`, if there is one.
 * Where hard links are not available the endpoint copied it: a new inode, the same size.
 */
export function findStored(
  historyDir: string,
  runDir: string,
  path: RelPath,
  old: Pick<Entry, 'ino' | 'size'>,
): string | undefined {
  const base = join(runDir, path);
  let copied: string | undefined;
  for (let n = 1; n < 20; n++) {
    const rel = n === 1 ? base : numberedName(base, n);
    const st = lstatSync(join(historyDir, rel), { bigint: true, throwIfNoEntry: false });
    if (st === undefined) {
      if (n > 1) break;
      continue;
    }
    if (st.ino === old.ino) return rel;
    if (n === 1 && Number(st.size) === old.size) copied = rel;
  }
  return copied;
}
