import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * better-sqlite3, loaded with require. Imported as an ES module, its CommonJS is first parsed
 * by Node's cjs-module-lexer to find its exports: 17 ms against 10 ms of every run here.
 */
export const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
export type Database = BetterSqlite3.Database;
