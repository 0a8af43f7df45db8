import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_DIR } from '../core/path.ts';
import { lstatOrUndefined } from '../endpoint/local/stat.ts';
import { ensureStateDir, writeWhole } from '../endpoint/local/state-dir.ts';
import { ConcordError, errText } from '../errors.ts';
import { nodeCrypto } from '../node-crypto.ts';
import type { StateDb } from './state-db.ts';

export const ROOT_ID_FILE = 'root-id';

/** A root as the state store knows it: its marker id and the row that keys its index. */
export interface Location {
  /** Row id in `locations`. */
  id: number;
  /** The random id in `<root>/.concord/root-id`. */
  rootId: string;
  /** Where the root was found this time. */
  path: string;
}

const ID_PATTERN = /^[0-9a-f]{32}$/;

/**
 * The root's id from its marker, or undefined when it has none. Identity lives in the root, not
 * in its path or host name, so a renamed, moved or remounted root keeps its state.
 */
export function readRootId(root: string): string | undefined {
  assertStateDirIsOurs(root);
  const file = join(root, STATE_DIR, ROOT_ID_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConcordError('bad-root', `cannot read the root marker: ${errText(err)}`, {
      path: file,
      hint: 'make it readable',
    });
  }
  const id = text.trim();
  if (!ID_PATTERN.test(id)) {
    throw new ConcordError('bad-root', 'the root marker does not hold a Concord root id', {
      path: file,
      hint: 'delete the file: the root then gets a new id and its index is rebuilt',
    });
  }
  return id;
}

/**
 * Refuses a root whose `.concord` is anything but a directory. The marker, the trash and a
 * backup's history are written in there: through a symlink they landed wherever it pointed,
 * outside the root (or every deletion failed, on another file system or a dangling link).
 * Every command reads the marker before it writes anything, so the check is made here.
 */
function assertStateDirIsOurs(root: string): void {
  const dir = join(root, STATE_DIR);
  const st = lstatOrUndefined(dir);
  if (st === undefined || st.isDirectory()) return;
  const what = st.isSymbolicLink() ? 'a symlink' : st.isFile() ? 'a file' : 'a special file';
  throw new ConcordError('bad-root', `is ${what}, not the folder Concord keeps its state in`, {
    path: dir,
    hint: 'move or rename it: Concord makes the folder itself, and never writes through a link',
  });
}

/** Reads the root's marker, writing a new random one first when there is none. */
export function ensureRootId(root: string, randomId: () => string = newRootId): string {
  const existing = readRootId(root);
  if (existing) return existing;
  const id = randomId();
  try {
    writeWhole(join(ensureStateDir(root), ROOT_ID_FILE), `${id}\n`);
  } catch (err) {
    throw new ConcordError('bad-root', `cannot write the root marker: ${errText(err)}`, {
      path: join(root, STATE_DIR, ROOT_ID_FILE),
      hint: 'Concord keeps a root id in .concord/ at the root: make the root writable',
      cause: err,
    });
  }
  return id;
}

export function newRootId(): string {
  return nodeCrypto().randomBytes(16).toString('hex');
}

/** The location row for `rootId`, made on first sight; its path is brought up to date. */
export function locationOf(db: StateDb, rootId: string, path: string, nowMs: number): Location {
  const row = db
    .prepare<[string], { id: number; path: string }>(
      'SELECT id, path FROM locations WHERE root_id = ?',
    )
    .get(rootId);
  if (row) {
    if (row.path !== path)
      db.prepare('UPDATE locations SET path = ? WHERE id = ?').run(path, row.id);
    return { id: row.id, rootId, path };
  }
  const info = db
    .prepare('INSERT INTO locations (root_id, path, created_ms) VALUES (?, ?, ?)')
    .run(rootId, path, nowMs);
  return { id: Number(info.lastInsertRowid), rootId, path };
}

/** When the index of a location was last refreshed by a full scan (ms), if ever. */
export function indexedAt(db: StateDb, location: Location): number | undefined {
  const row = db
    .prepare<[number], { indexed_ms: number | null }>(
      'SELECT indexed_ms FROM locations WHERE id = ?',
    )
    .get(location.id);
  return row?.indexed_ms ?? undefined;
}
