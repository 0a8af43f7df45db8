import { linkSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * better-sqlite3, loaded with require. Imported as an ES module, its CommonJS is first parsed
 * by Node's cjs-module-lexer to find its exports: 17 ms against 10 ms of every run here.
 */
export const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
export type Database = BetterSqlite3.Database;

/**
 * Makes the database file `file` with its header already written, or leaves the one another
 * process made first. SQLite creates a file of 0 bytes and writes the header later, so a
 * process killed in between left an empty file, and one of 0 bytes found later could be that
 * or a database cut short, whose rows are gone. Made beside it and linked into place (link
 * never replaces), a database file is never seen without its header: one of 0 bytes is damage.
 * `init` writes the header (a journal mode, a schema).
 */
export function createDatabaseFile(file: string, init: (db: Database) => void): void {
  const tmp = `${file}.new-${process.pid}-${Date.now().toString(36)}`;
  try {
    const db = new Database(tmp);
    try {
      init(db);
    } finally {
      db.close();
    }
    try {
      linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  } finally {
    for (const ext of ['', '-wal', '-shm', '-journal']) rmSync(tmp + ext, { force: true });
  }
}
