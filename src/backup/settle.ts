import { lstatSync, readdirSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import type { Entry } from '../core/entry.ts';
import { basename, join, STATE_DIR } from '../core/path.ts';
import { isTempName } from '../endpoint/local/listing.ts';
import { entryOf } from '../endpoint/local/stat.ts';
import { type Catalog, sameVersion, type Version } from './catalog.ts';
import { findStored } from './recording-endpoint.ts';

/**
 * Brings the catalog in line with what is on disk in B, in one transaction: entries no backup
 * recorded are counted as seen by `run` (on a first backup, everything already in B; after a
 * crash, what the crashed run did between an operation and its row), versions no longer in B
 * are displaced by `run`, their bytes found in the run's history folder (`runDir`) by inode.
 * Walks the whole of B, so it runs only on a first backup and after a crash.
 */
export function settle(catalog: Catalog, root: string, run: number, runDir: string): number {
  const onDisk = walk(root);
  const known = new Map<string, Version>();
  for (const v of catalog.currentAll()) known.set(v.path, v);
  let fixed = 0;
  catalog.tx(() => {
    for (const [path, e] of onDisk) {
      const v = known.get(path);
      if (v !== undefined && sameVersion(v, e) && sameMeta(v, e)) continue;
      fixed++;
      if (v !== undefined && sameVersion(v, e)) {
        catalog.metaChanged(run, path, e);
      } else if (v !== undefined) {
        // Replaced on disk: the run's folder holds the old bytes if the run displaced them.
        const stored =
          v.kind === 'dir' ? undefined : findStored(catalog.historyDir, runDir, path, v);
        catalog.replaced(run, path, undefined, e, stored);
      } else {
        catalog.replaced(run, path, undefined, e);
      }
    }
    for (const [path, v] of known) {
      if (onDisk.has(path)) continue;
      fixed++;
      const stored = v.kind === 'dir' ? undefined : findStored(catalog.historyDir, runDir, path, v);
      catalog.removed(run, path, undefined, stored);
    }
  });
  return fixed;
}

function sameMeta(v: Version, e: Entry): boolean {
  return v.mtimeNs === e.mtimeNs && v.mode === e.mode;
}

/** Every entry of B (the root itself as ''), without `.concord/` and our temporary files. */
function walk(root: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const visit = (rel: string) => {
    const abs = rel === '' ? root : joinPath(root, rel);
    const e = entryOf(basename(rel), abs, lstatSync(abs, { bigint: true }));
    if (e === undefined) return;
    out.set(rel, e);
    if (e.kind !== 'dir') return;
    for (const name of readdirSync(abs)) {
      if (rel === '' && name === STATE_DIR) continue;
      if (isTempName(name)) continue;
      visit(join(rel, name));
    }
  };
  visit('');
  return out;
}
