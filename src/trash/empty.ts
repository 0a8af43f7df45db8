/** Emptying the trash (`concord trash empty`) and its expiry after every run. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Problem, problem } from '../core/problem.ts';
import { ConcordError, errText } from '../errors.ts';
import { TRASH_DIR, TRASH_EXPIRY_MS } from './layout.ts';
import { openTrash, readItems, readRuns, type Trash } from './read.ts';

export interface Freed {
  /** Run directories removed, and those left because they are newer than the cut-off. */
  runs: number;
  kept: number;
  items: number;
  bytes: number;
}

/**
 * Removes the run directories trashed before `beforeMs` (all of them without it): a run's
 * time is the one in its name, not the files' mtimes. Names that are not run stamps are not
 * ours and stay. `count: false` skips reading what is removed (the expiry does not print it).
 */
export function emptyTrash(
  trash: Trash,
  beforeMs: number | undefined,
  o: { count?: boolean } = {},
): Freed {
  const freed: Freed = { runs: 0, kept: 0, items: 0, bytes: 0 };
  for (const run of readRuns(trash)) {
    if (beforeMs !== undefined && run.ms >= beforeMs) {
      freed.kept++;
      continue;
    }
    if (o.count ?? true) {
      for (const item of readItems(trash, [run])) {
        freed.items++;
        freed.bytes += item.size;
      }
    }
    const abs = join(trash.dir, run.name);
    try {
      rmSync(abs, { recursive: true, force: true });
    } catch (err) {
      throw new ConcordError('failed', `cannot remove: ${errText(err)}`, {
        path: abs,
        hint: `${freed.runs} older runs were removed before it; check the permissions and run again`,
        cause: err,
      });
    }
    freed.runs++;
  }
  return freed;
}

/**
 * After a finished run: the root's trash runs older than `maxAgeMs` (30 days) by the run's
 * clock go. Never throws: a sync that did its work is not failed by its housekeeping; the
 * trouble is a problem of the run instead.
 */
export function expireTrash(
  root: string,
  nowMs: number,
  maxAgeMs: number = TRASH_EXPIRY_MS,
): Problem[] {
  try {
    const trash = openTrash(root);
    if (trash.exists) emptyTrash(trash, nowMs - maxAgeMs, { count: false });
    return [];
  } catch (err) {
    const line = err instanceof ConcordError ? err.line() : errText(err);
    return [
      problem(TRASH_DIR, 'write-failed', `old trash could not be expired: ${line}`, {
        hint: `concord trash empty ROOT --older-than 30d removes it by hand`,
      }),
    ];
  }
}
