import { readlinkSync } from 'node:fs';
import type { Precondition } from '../../core/plan.ts';
import { ChangedDuringSync } from '../endpoint.ts';
import { kindOf, lstatOrUndefined } from './stat.ts';

/** A path the plan saw absent on the target is there now (S16). */
export function targetAppeared(shown: string): ChangedDuringSync {
  return new ChangedDuringSync('target', `${shown} appeared on the target during the sync`);
}

/**
 * Checks, right before a write, that `abs` is still what the plan saw (S16). Directories are
 * matched by identity only: writing their children changes their times.
 */
export function checkPrecondition(abs: string, pre: Precondition, shown: string): void {
  const st = lstatOrUndefined(abs);
  if (pre.type === 'absent') {
    if (st) throw targetAppeared(shown);
    return;
  }
  if (!st)
    throw new ChangedDuringSync('target', `${shown} vanished from the target during the sync`);
  const kind = kindOf(st);
  if (pre.type === 'dir') {
    if (kind !== 'dir') throw new ChangedDuringSync('target', `${shown} is no longer a directory`);
    return;
  }
  const e = pre.entry;
  let ok = kind === e.kind && st.ino === e.ino;
  if (ok && kind === 'file') ok = Number(st.size) === e.size && st.mtimeNs === e.mtimeNs;
  if (ok && kind === 'symlink') ok = readlinkSync(abs, 'utf8') === e.target;
  if (!ok) throw new ChangedDuringSync('target', `${shown} changed on the target during the sync`);
}
