import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConcordError, errText } from '../errors.ts';
import { STATE_DB } from './home.ts';
import { MIGRATIONS, type Migration, migrate, schemaVersion } from './migrations.ts';
import { createDatabaseFile, Database } from './sqlite.ts';
import { stateError } from './state-error.ts';

export { stateError };

export type StateDb = Database;

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
    const what =
      (err as NodeJS.ErrnoException).code === 'EEXIST'
        ? 'is not a directory: Concord keeps its state in a directory here'
        : `cannot create the state directory: ${errText(err)}`;
    throw new ConcordError('state', what, {
      path: home,
      hint: 'set CONCORD_HOME to a writable directory',
    });
  }
  // SQLite says only "unable to open database file" for a directory or a FIFO in its place.
  const st = statSync(file, { throwIfNoEntry: false });
  if (st && !st.isFile())
    throw new ConcordError('state', 'is not a file: the state database should be here', {
      path: file,
      hint: 'move it out of the way, or set CONCORD_HOME elsewhere',
    });
  if (st?.size === 0) throw emptyStateDb(file);
  let db: StateDb | undefined;
  try {
    if (!st) createDatabaseFile(file, (fresh) => fresh.pragma('journal_mode = WAL'));
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

/**
 * A state database of 0 bytes: never one being made (see createDatabaseFile) but one cut short,
 * and opening it would have made a new one in its place, silently forgetting the pairs and
 * their last-synced states. It is refused, and `index --rebuild` keeps it aside.
 */
function emptyStateDb(file: string): ConcordError {
  return new ConcordError('state', 'the state database is empty (0 bytes): it was cut short', {
    path: file,
    hint: 'run `concord index --rebuild ROOT`: it keeps the empty file beside the new one',
  });
}

const INT64_MAX = 2n ** 63n - 1n;

/**
 * A time in ns as SQLite can keep it: one past 2262 (or before 1677) does not fit a 64-bit
 * INTEGER, and binding it threw ("too big": an internal error for any file stamped 2400). It is
 * kept as its decimal digits in a BLOB, which no column affinity turns into a rounded REAL, and
 * which `||` and CAST(... AS TEXT) read back as the same digits.
 */
export function sqlTime(ns: bigint): bigint | Buffer {
  return ns > INT64_MAX || ns < -INT64_MAX - 1n ? Buffer.from(ns.toString()) : ns;
}

/**
 * Groups the writes made on one connection into transactions of a few thousand rows (one
 * commit per row is slow). One per connection: SQLite has no nested transactions, and several
 * indexes (both roots of a run) write through one connection.
 */
export class WriteBatch {
  private pending = 0;
  private readonly db: StateDb;
  /** Commits a transaction left open across a wait (see tick). */
  private timer: NodeJS.Timeout | undefined;
  /** What a commit on the timer threw: thrown by the next write or flush instead. */
  private failure: unknown;

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
    this.rethrow();
    if (this.pending === 0) {
      this.db.exec('BEGIN');
      // An open transaction holds the database's write lock, and another Concord sharing
      // CONCORD_HOME gives up after waiting 5 s for it. Rows are written between waits (files
      // being hashed, copies), so without this a transaction stayed open as long as the next
      // 4,096 rows took: minutes when hashing large files from a slow disk.
      this.timer = setTimeout(() => this.commitLate(), MAX_OPEN_MS);
      this.timer.unref();
    }
    if (++this.pending >= 4096) this.flush();
  }

  /** Commits what was written. */
  flush(): void {
    this.rethrow();
    if (this.pending === 0) return;
    this.end('COMMIT');
  }

  /** Rolls back what was written since the last flush. */
  abandon(): void {
    if (this.pending === 0) return;
    this.end('ROLLBACK');
  }

  private end(sql: 'COMMIT' | 'ROLLBACK'): void {
    clearTimeout(this.timer);
    this.pending = 0;
    this.db.exec(sql);
  }

  private commitLate(): void {
    if (this.pending === 0 || !this.db.open) return;
    try {
      this.end('COMMIT');
    } catch (err) {
      this.failure = err;
    }
  }

  private rethrow(): void {
    const err = this.failure;
    if (err === undefined) return;
    this.failure = undefined;
    throw err;
  }
}

const batches = new WeakMap<StateDb, WriteBatch>();

/** The longest a batch's transaction stays open (WriteBatch.tick). */
const MAX_OPEN_MS = 500;
