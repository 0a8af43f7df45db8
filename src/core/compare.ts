import { type Entry, sameMode, sameMtime } from './entry.ts';

export interface CompareOptions {
  /**
   * Largest mtime difference still counted as equal: the larger of --modify-window and the
   * precision the target keeps when we set an mtime (Node's utimes takes a double of
   * seconds, so a copy's mtime is exact only to about a microsecond).
   */
  mtimeToleranceNs: bigint;
  /** Compare content by hash, not by size + mtime (--checksum). */
  checksum: boolean;
  /** Permission bits are not compared: a root cannot keep them (Capabilities.keepsModes). */
  ignoreModes?: boolean | undefined;
}

/**
 * How the destination entry differs from the source entry:
 * - same: nothing to do
 * - meta: content equal, mtime or mode differ: set metadata only
 * - content: content differs (or the kinds are file and symlink): replace it
 * - kind: one is a directory and the other is not
 * - needs-hash: equal sizes, and content equality decides; hash both and ask again
 */
export type Verdict = 'same' | 'meta' | 'content' | 'kind' | 'needs-hash';

export function compareEntries(src: Entry, dst: Entry, opts: CompareOptions): Verdict {
  if (src.kind !== dst.kind) return src.kind === 'dir' || dst.kind === 'dir' ? 'kind' : 'content';
  const mtimeEqual = sameMtime(src.mtimeNs, dst.mtimeNs, opts.mtimeToleranceNs);
  switch (src.kind) {
    case 'dir':
      return mtimeEqual && sameMode(src.mode, dst.mode, opts) ? 'same' : 'meta';
    case 'symlink':
      if (src.target !== dst.target) return 'content';
      return mtimeEqual ? 'same' : 'meta';
    case 'file': {
      if (src.size !== dst.size) return 'content';
      const metaEqual = mtimeEqual && sameMode(src.mode, dst.mode, opts);
      // Without --checksum, equal size and mtime are trusted as equal content (rsync's
      // quick check). A differing mtime with equal size is settled by content, so an
      // mtime-only difference becomes a metadata update instead of a copy.
      if (!opts.checksum && mtimeEqual) return metaEqual ? 'same' : 'meta';
      if (src.hash === undefined || dst.hash === undefined) return 'needs-hash';
      if (src.hash !== dst.hash) return 'content';
      return metaEqual ? 'same' : 'meta';
    }
  }
}
