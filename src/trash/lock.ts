/** The run lock of a root, held while a trash command changes it (S18). */
import { concordHome } from '../index/home.ts';
import { readRootId } from '../index/location.ts';
import { acquireLocks, rootLockKeys } from '../index/lock.ts';
import { openStateDb } from '../index/state-db.ts';
import type { Trash } from './read.ts';

/**
 * Runs `fn` holding the root's run lock, the one syncs take: a restore or an empty must not
 * move files in or out while a sync of that root is writing its trash or its tree.
 */
export async function withRootLock<T>(
  trash: Trash,
  command: string,
  fn: () => T,
  o: { home?: string | undefined; lockWaitMs?: number | undefined } = {},
): Promise<T> {
  const db = openStateDb(o.home ?? concordHome());
  try {
    const keys = rootLockKeys(trash.root, readRootId(trash.root), trash.shown);
    const release = await acquireLocks(db, keys, { command, waitMs: o.lockWaitMs });
    try {
      return fn();
    } finally {
      release();
    }
  } finally {
    db.close();
  }
}
