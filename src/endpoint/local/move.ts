import {
  linkSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join, relative } from 'node:path';
import { relPathError, STATE_DIR } from '../../core/path.ts';
import { tryUnlink } from './listing.ts';
import { nativeRename, systemError } from './native.ts';
import { lstatOrUndefined } from './stat.ts';
import { ensureStateSubdir } from './state-dir.ts';

/** What renameat2 answers where the file system has no RENAME_NOREPLACE (some FUSE drivers). */
const NO_RENAME_NOREPLACE = new Set([
  osConstants.errno.EINVAL,
  osConstants.errno.ENOSYS,
  osConstants.errno.EOPNOTSUPP,
]);

const MOVING = 'moving';
/** Where a root keeps the moves made by link + unlink until both calls are done. */
export const MOVING_DIR = `${STATE_DIR}/${MOVING}`;

export interface MoveOptions {
  /** false: the ways without the addon (tests). */
  native?: boolean;
  /**
   * The root both paths lie in, relative to which a link + unlink move is written down in
   * MOVING_DIR first, for finishMoves to end after a crash. Without it nothing is written down.
   */
  root?: string;
}

/**
 * Renames `src` to `dst` unless something is at `dst` (then false, both left as they are): a
 * move that must not replace what appeared since the plan looked (S16), rename(2) would.
 * renameat2(RENAME_NOREPLACE) through the addon is one call, never two names for one file.
 * Where the addon or the file system lacks it, link + unlink never replaces either, but a kill
 * between the two leaves both names, which the next two-way run took for a new file (a second
 * conflict copy, test/e2e/crash-inject.test.ts): with `root`, the move is written down first,
 * and finishMoves ends it. Without hard links (or for a directory), a plain rename, as close as
 * that file system gets.
 */
export function renameNoReplace(src: string, dst: string, o: MoveOptions = {}): boolean {
  const errno = o.native !== false ? nativeRename()?.renameNoReplace(src, dst) : undefined;
  if (errno === 0) return true;
  if (errno === osConstants.errno.EEXIST) return false;
  if (errno !== undefined && !NO_RENAME_NOREPLACE.has(errno))
    throw systemError(errno, 'rename', src);
  const note = o.root === undefined ? undefined : noteMove(o.root, src, dst);
  try {
    linkSync(src, dst);
  } catch (err) {
    if (note) tryUnlink(note);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'EMLINK' && code !== 'ENOTSUP') throw err;
    renameSync(src, dst);
    return true;
  }
  unlinkSync(src);
  if (note) tryUnlink(note);
  return true;
}

let notes = 0;

/**
 * Writes down a move of `src` to `dst` (absolute paths in `root`) in the root's MOVING_DIR: the
 * two paths relative to the root (so a root mounted elsewhere after the crash still finds
 * them), NUL between them. Not fsynced: it guards against a killed run, and after a power cut
 * neither the link nor the note need be on disk. Returns the note's path.
 */
export function noteMove(root: string, src: string, dst: string): string {
  const dir = ensureStateSubdir(root, MOVING);
  const note = join(dir, `${process.pid}-${(notes++).toString(36)}`);
  writeFileSync(note, `${relative(root, src)}\0${relative(root, dst)}`);
  return note;
}

/**
 * Ends the moves a killed run left half done in `root` (see renameNoReplace): where both names
 * are still the one file (same device and inode), the old name goes. Anything else is left
 * as it is: a move that never linked, one that finished, or a name given to another file since.
 * Each note is removed once read. Runs before a run scans the root, under its lock. Returns how
 * many moves it ended.
 */
export function finishMoves(root: string): number {
  const dir = join(root, MOVING_DIR);
  // Only the folder noteMove makes: not through a link, not a file in its place.
  if (!lstatOrUndefined(dir)?.isDirectory()) return 0;
  let ended = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    // Notes are files; anything else there is not ours, and is left alone.
    if (!entry.isFile()) continue;
    const note = join(dir, entry.name);
    const [from, to] = readNote(note);
    // Paths inside the root only: a note is a file anyone who can write .concord/ can make.
    if (from && to && relPathError(from) === undefined && relPathError(to) === undefined) {
      const src = lstatOrUndefined(join(root, from));
      const dst = lstatOrUndefined(join(root, to));
      if (src && dst && src.dev === dst.dev && src.ino === dst.ino && !src.isDirectory()) {
        unlinkSync(join(root, from));
        ended++;
      }
    }
    tryUnlink(note);
  }
  return ended;
}

/** A note's two paths; none when it cannot be read (it is then removed as spent). */
function readNote(note: string): string[] {
  try {
    return readFileSync(note, 'utf8').split('\0');
  } catch {
    return [];
  }
}
