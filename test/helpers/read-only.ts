import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTree, type Spec } from './tree.ts';

/**
 * A tmpfs holding `spec`, then remounted read-only for the test: a write-protected SD card, a
 * snapshot, a mount made with `-o ro`. Needs root (a mount).
 */
export function readOnlyRoot(t: { after: (fn: () => void) => void }, spec: Spec): string {
  const mnt = tmpfs(t, '8m');
  makeTree(join(mnt, 'root'), spec);
  execFileSync('mount', ['-o', 'remount,ro', mnt]);
  return join(mnt, 'root');
}

/**
 * A tmpfs of `size` (as mount takes it: '4m') mounted for the test, unmounted after it: a
 * small drive to fill. Needs root (a mount).
 */
export function tmpfs(t: { after: (fn: () => void) => void }, size: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'concord-tmpfs-'));
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt]);
  t.after(() => {
    execFileSync('umount', [mnt]);
    rmSync(dir, { recursive: true, force: true });
  });
  return mnt;
}
