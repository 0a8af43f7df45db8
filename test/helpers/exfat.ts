import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh exFAT file system, mounted through FUSE (exfat-fuse) for the test: the file system
 * of USB drives and SD cards, case-insensitive and case-preserving, without permission bits or
 * symlinks, keeping mtimes to the second. Needs root (a loop device and a mount).
 */
export function exfatRoot(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'concord-exfat-'));
  const img = join(dir, 'exfat.img');
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  execFileSync('truncate', ['-s', '32M', img]);
  execFileSync('mkfs.exfat', [img], { stdio: 'ignore' });
  // exfat-fuse wants a block device, not an image file.
  const loop = execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8' }).trim();
  try {
    execFileSync('mount.exfat-fuse', [loop, mnt], { stdio: 'ignore' });
  } catch (err) {
    execFileSync('losetup', ['-d', loop]);
    throw err;
  }
  // One hook: unmount, free the loop device, then remove (hooks run in the order added).
  t.after(() => {
    execFileSync('umount', [mnt]);
    execFileSync('losetup', ['-d', loop]);
    rmSync(dir, { recursive: true, force: true });
  });
  return mnt;
}
