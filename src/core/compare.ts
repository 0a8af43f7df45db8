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
  /**
   * ns since the epoch. Where the tolerance is wider than a copy's own error (a target that
   * keeps whole seconds, --modify-window), a same-size edit made within the tolerance of the
   * copied version's mtime looks unchanged. A file pair whose mtimes differ, though within
   * the tolerance, and whose source changed (ctime) at or after this time is compared by
   * content. The engine sets it to when the last run between the same roots that left no file
   * behind started (less a margin): a change older than that was seen by that run.
   */
  racySinceNs?: bigint | undefined;
}

/** How far a copy's mtime may be from its source's on a root that keeps it: utimes takes a double. */
export const COPY_MTIME_ERROR_NS = 1000n;

/** Equal size and mtimes within the tolerance only: see CompareOptions.racySinceNs. */
export function racyPair(src: Entry, dst: Entry, opts: CompareOptions): boolean {
  return (
    opts.racySinceNs !== undefined &&
    src.ctimeNs >= opts.racySinceNs &&
    !sameMtime(src.mtimeNs, dst.mtimeNs, COPY_MTIME_ERROR_NS)
  );
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
      if (!opts.checksum && mtimeEqual && !racyPair(src, dst, opts))
        return metaEqual ? 'same' : 'meta';
      if (src.hash === undefined || dst.hash === undefined) return 'needs-hash';
      if (src.hash !== dst.hash) return 'content';
      return metaEqual ? 'same' : 'meta';
    }
  }
}
