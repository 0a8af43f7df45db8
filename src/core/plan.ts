import type { Entry } from './entry.ts';
import type { RelPath } from './path.ts';

/**
 * What a target path must still be, checked where the files are right before an operation
 * touches it (S16): absent, any directory, or exactly the entry the scan saw.
 */
export type Precondition = { type: 'absent' } | { type: 'dir' } | { type: 'same'; entry: Entry };

export const ABSENT: Precondition = { type: 'absent' };
export const ANY_DIR: Precondition = { type: 'dir' };
export const same = (entry: Entry): Precondition => ({ type: 'same', entry });

/** Why an operation is in the plan; also what the summary counts it as. */
export type Reason =
  | 'new' // created on the target
  | 'modified' // content replaced
  | 'kind-changed' // created where an entry of another kind was
  | 'metadata' // mtime or mode only
  | 'extra' // deleted: not on the source (mirror)
  | 'replaced' // deleted to make room for an entry of another kind
  | 'dir-times' // directory times restored after its children were written
  | 'deleted' // two-way: deleted on the other side since the last sync
  | 'conflict-copy' // two-way: the losing version of a conflict, kept under a new name
  | 'moved-aside' // two-way: a version renamed to its conflict name on its own side
  | 'moved'; // renamed on the target from `from`, instead of a delete plus a copy (S24)

/**
 * Phases run in order. Within a phase, writes go parent-first (the order the engine emits
 * them) and deletions and directory times children-first (that order reversed).
 */
export const Phase = {
  Clear: 0, // deletions that make room for a kind change
  Write: 1, // mkdir, copy, set-meta of files
  Delete: 2, // extras (mirror)
  DirTimes: 3, // directory mtimes and modes, after everything inside them
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

export interface Operation {
  op: 'mkdir' | 'copy' | 'set-meta' | 'delete' | 'move';
  path: RelPath;
  /**
   * copy: the path to read on the source side, when it differs from `path` (a conflict copy);
   * move: the path on the same side that is renamed to `path`.
   */
  from?: RelPath;
  /** The entry to reproduce on the target (mkdir, copy, set-meta). */
  source?: Entry;
  pre: Precondition;
  reason: Reason;
  phase: Phase;
}

export interface PlanCounts {
  created: number;
  updated: number;
  deleted: number;
  metadataUpdated: number;
  /** Renames that stand for a delete plus a create (S24): never counted as deletions. */
  moved: number;
  bytesToCopy: number;
}

/** Orders operations for execution: phase by phase, children-first where it matters. */
export function orderPlan(ops: readonly Operation[]): Operation[] {
  const byPhase: Operation[][] = [[], [], [], []];
  for (const op of ops) (byPhase[op.phase] as Operation[]).push(op);
  const [clear, write, del, times] = byPhase as [
    Operation[],
    Operation[],
    Operation[],
    Operation[],
  ];
  return [...clear.reverse(), ...write, ...del.reverse(), ...times.reverse()];
}

export function countPlan(ops: readonly Operation[]): PlanCounts {
  const c = noCounts();
  for (const op of ops) countOp(c, op);
  return c;
}

export function noCounts(): PlanCounts {
  return { created: 0, updated: 0, deleted: 0, metadataUpdated: 0, moved: 0, bytesToCopy: 0 };
}

/** Adds one operation to the counts of a summary. */
export function countOp(c: PlanCounts, op: Operation): void {
  switch (op.reason) {
    case 'new':
    case 'conflict-copy':
      c.created++;
      break;
    case 'modified':
    case 'kind-changed':
      c.updated++;
      break;
    case 'metadata':
      c.metadataUpdated++;
      break;
    case 'extra':
    case 'replaced':
    case 'deleted':
      c.deleted++;
      break;
    case 'moved':
      c.moved++;
      break;
    case 'dir-times':
    case 'moved-aside':
      break;
  }
  if (op.op === 'copy' && op.source?.kind === 'file') c.bytesToCopy += op.source.size;
}

/** Operations that remove something from the target (what --max-delete counts). */
export function deletions(ops: readonly Operation[]): number {
  let n = 0;
  for (const op of ops) if (op.op === 'delete') n++;
  return n;
}
