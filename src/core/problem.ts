import type { RelPath } from './path.ts';

/** Per-path trouble, as data: the run goes on and exits 3 (see errors.ts for run-level trouble). */
export interface Problem {
  path: RelPath;
  side?: 'A' | 'B';
  code: ProblemCode;
  message: string;
  hint?: string;
}

export type ProblemCode =
  | 'unreadable' // a directory or file could not be read
  | 'special-file' // FIFO, socket or device: not synced
  | 'changed-during-sync' // a precondition failed right before a write
  | 'kind-conflict' // replica mode cannot replace a directory on B
  | 'write-failed' // the target refused a write (permissions, disk full, ...)
  | 'not-empty' // a directory to delete still holds excluded or unreadable entries
  | 'invalid-name' // a name the target cannot hold
  | 'case-conflict' // names equal but for case, on a side that cannot tell them apart (S23)
  | 'conflict-skipped' // two-way: both sides changed it, and it was left for later
  | 'root-vanished' // the target root went away mid-run (unplugged, unmounted): exit 1
  | 'target-full'; // the target ran out of space (or quota) mid-run, and the run stopped: exit 1

export function problem(
  path: RelPath,
  code: ProblemCode,
  message: string,
  extra: { side?: 'A' | 'B'; hint?: string } = {},
): Problem {
  return { path, code, message, ...extra };
}
