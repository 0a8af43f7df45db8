import type { Entry } from './entry.ts';
import type { Operation } from './plan.ts';

/** The write and search bits of a directory's owner: what adding or removing an entry takes. */
const OWNER_WX = 0o300;

/**
 * A directory whose owner cannot change its entries (a mode without u+w or u+x, such as
 * 0555): a run that is not root must open it first, or fail there (EACCES) until a second run.
 * rsync opens such directories for the run too.
 */
export function closedToOwner(e: Entry): boolean {
  return e.kind === 'dir' && (e.mode & OWNER_WX) !== OWNER_WX;
}

/** `model` with its owner's write and search bits: what the opening sets. */
export function openedToOwner(model: Entry): Entry {
  return { ...model, mode: model.mode | OWNER_WX };
}

/** Whether an operation changes the entries of its directory (all but metadata do). */
export function changesEntries(o: Operation): boolean {
  return o.op !== 'set-meta';
}

/**
 * Whether a folder that a run opened (its mode was `closedMode`) is still as that run left it,
 * so that a later run may give it `closedMode` back: a mode anyone set since is theirs.
 */
export function leftOpened(e: Entry | undefined, closedMode: number): e is Entry {
  return e?.kind === 'dir' && e.mode !== closedMode && e.mode === (closedMode | OWNER_WX);
}
