import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ConcordError, errText } from '../errors.ts';
import { STATE_DB } from './home.ts';
import { MIGRATIONS, type Migration, migrate, schemaVersion } from './migrations.ts';

export type StateDb = Database.Database;

export interface OpenOptions {
  /** Schema steps to apply (tests pass a prefix to make an older database). */
  migrations?: readonly Migration[];
  /** Milliseconds to wait for another process's write transaction (default 5000). */
  busyMs?: number;
}

/**
 * Opens (creating on first use) the state database in `home`: WAL, so readers never wait for
 * the writer; foreign keys on; the schema migrated forward. A file that is not a database, or
 * one made by a newer Concord, is refused with a message naming the file and the way out;
 * nothing is deleted here.
 */
export function openStateDb(home: string, o: OpenOptions = {}): StateDb {
  const file = join(home, STATE_DB);
  const steps = o.migrations ?? MIGRATIONS;
  try {
    mkdirSync(home, { recursive: true });
  } catch (err) {
    throw new ConcordError('state', `cannot create the state directory: ${errText(err)}`, {
      path: home,
      hint: 'set CONCORD_HOME to a writable directory',
    });
  }
  let db: StateDb | undefined;
  try {
    db = new Database(file, { timeout: o.busyMs ?? 5000 });
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives a crash of this process; a power loss may lose the last
    // commits, never corrupt the file. The file index is a cache, re-checked by every scan.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    const known = steps.at(-1)?.version ?? 0;
    const found = schemaVersion(db);
    if (found > known) {
      throw new ConcordError(
        'state',
        `the state database has schema version ${found}, newer than this Concord knows (${known})`,
        { path: file, hint: 'upgrade Concord, or point CONCORD_HOME elsewhere' },
      );
    }
    migrate(db, steps);
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof ConcordError) throw err;
    throw stateError(file, err);
  }
}

/** A database error as one line naming the file and what to do. */
export function stateError(file: string, err: unknown): ConcordError {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new ConcordError('state', 'the state database is corrupt', {
      path: file,
      hint: 'run `concord index --rebuild ROOT`: it keeps the damaged file beside the new one',
      cause: err,
    });
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new ConcordError('state', 'the state database is busy (another Concord is writing)', {
      path: file,
      hint: 'try again when it has finished',
      cause: err,
    });
  }
  return new ConcordError('state', `cannot use the state database: ${errText(err)}`, {
    path: file,
    hint: 'check its permissions and free space, or set CONCORD_HOME elsewhere',
    cause: err,
  });
}

/**
 * Groups the writes made on one connection into transactions of a few thousand rows (one
 * commit per row is slow). One per connection: SQLite has no nested transactions, and several
 * indexes (both roots of a run) write through one connection.
 */
export class WriteBatch {
  private pending = 0;
  private readonly db: StateDb;

  private constructor(db: StateDb) {
    this.db = db;
  }

  static of(db: StateDb): WriteBatch {
    let b = batches.get(db);
    if (!b) {
      b = new WriteBatch(db);
      batches.set(db, b);
    }
    return b;
  }

  /** Call after each write. */
  tick(): void {
    if (this.pending === 0) this.db.exec('BEGIN');
    if (++this.pending >= 4096) this.flush();
  }

  /** Commits what was written. */
  flush(): void {
    if (this.pending === 0) return;
    this.pending = 0;
    this.db.exec('COMMIT');
  }

  /** Rolls back what was written since the last flush. */
  abandon(): void {
    if (this.pending === 0) return;
    this.pending = 0;
    this.db.exec('ROLLBACK');
  }
}

const batches = new WeakMap<StateDb, WriteBatch>();
