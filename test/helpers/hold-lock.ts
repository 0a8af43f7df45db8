/**
 * A second process holding a root's run lock, through the same code the CLI uses: prints
 * `held <pid>` once it has the lock, releases it and exits when its stdin closes. A key
 * `path:DIR` also takes the flock on DIR, as the CLI's keys of a root do.
 * Usage: node --import tsx test/helpers/hold-lock.ts HOME KEY...
 */
import { concordHome } from '../../src/index/home.ts';
import { acquireLocks } from '../../src/index/lock.ts';
import { openStateDb } from '../../src/index/state-db.ts';

const [home = concordHome(), ...keys] = process.argv.slice(2);
const db = openStateDb(home);
const release = await acquireLocks(
  db,
  keys.map((key) => ({ key, path: key, dir: key.startsWith('path:') ? key.slice(5) : undefined })),
  { command: 'hold-lock (test)' },
);
process.stdout.write(`held ${process.pid}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  release();
  db.close();
  process.exit(0);
});
