import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { STATE_DB } from '../../src/index/home.ts';
import { MIGRATIONS, type Migration, schemaVersion } from '../../src/index/migrations.ts';
import { createDatabaseFile } from '../../src/index/sqlite.ts';
import { openStateDb, WriteBatch } from '../../src/index/state-db.ts';
import { indexLocal } from '../../src/local-state.ts';
import { makeTree, runCli, tempDir } from '../helpers/tree.ts';

test('a new database is created on first use, in WAL mode, at the latest schema', (t) => {
  const home = join(tempDir(t), 'nested', 'home');
  const db = openStateDb(home);
  assert.equal(schemaVersion(db), MIGRATIONS.at(-1)?.version);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
  assert.ok(existsSync(join(home, STATE_DB)));
});

test('a database of schema version 1 opens and upgrades under the current version (7), its rows kept', (t) => {
  const home = tempDir(t);
  const old = openStateDb(home, { migrations: MIGRATIONS.slice(0, 1) });
  assert.equal(schemaVersion(old), 1);
  old
    .prepare('INSERT INTO locations (root_id, path, created_ms) VALUES (?, ?, ?)')
    .run('ab'.repeat(16), '/data', 1);
  old
    .prepare(
      `INSERT INTO files (location, dir, name, kind, size, mtime_ns, ctime_ns, ino, dev, mode, seen_ms)
       VALUES (1, '', 'x', 0, 3, 1, 1, 1, 1, 420, 1)`,
    )
    .run();
  old.close();
  const db = openStateDb(home);
  assert.equal(schemaVersion(db), 7);
  assert.equal(MIGRATIONS.at(-1)?.version, 7);
  assert.equal(db.prepare('SELECT path FROM locations').pluck().get(), '/data');
  assert.equal(db.prepare('SELECT count(*) FROM files').pluck().get(), 1);
  assert.equal(db.prepare('SELECT count(*) FROM locks').pluck().get(), 0, 'v2 table exists');
  assert.equal(db.prepare('SELECT count(*) FROM dir_digests').pluck().get(), 0, 'v3 table exists');
  assert.equal(db.prepare('SELECT count(*) FROM ancestors').pluck().get(), 0, 'v4 table exists');
  assert.equal(db.prepare('SELECT count(*) FROM oneway_runs').pluck().get(), 0, 'v5 table exists');
  assert.equal(db.prepare('SELECT count(*) FROM opened_dirs').pluck().get(), 0, 'v6 table exists');
  assert.equal(
    db.prepare('SELECT count(*) FROM pairs WHERE sync_token IS NULL').pluck().get(),
    0,
    'v7 columns exist',
  );
  db.close();
});

test('the current schema upgrades under a next version N+1 the same way', (t) => {
  const home = tempDir(t);
  openStateDb(home).close();
  const next: Migration = {
    version: (MIGRATIONS.at(-1)?.version ?? 0) + 1,
    name: 'test: a new column',
    up: (db) => db.exec('ALTER TABLE locations ADD COLUMN label TEXT'),
  };
  const db = openStateDb(home, { migrations: [...MIGRATIONS, next] });
  assert.equal(schemaVersion(db), next.version);
  assert.ok(
    (db.pragma('table_info(locations)') as { name: string }[]).some((c) => c.name === 'label'),
  );
  db.close();
});

test('a database made by a newer Concord is refused with a message naming the file', (t) => {
  const home = tempDir(t);
  const raw = new Database(join(home, STATE_DB));
  raw.pragma('user_version = 99');
  raw.close();
  assert.throws(
    () => openStateDb(home),
    (err: Error & { path?: string }) => {
      assert.match(err.message, /schema version 99, newer than this Concord knows/);
      assert.equal(err.path, join(home, STATE_DB));
      return true;
    },
  );
});

test('a corrupt database: a clear error naming the file; index --rebuild keeps it aside and rebuilds', async (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'home');
  const root = join(dir, 'root');
  makeTree(root, { 'a.txt': 'a', 'sub/b.txt': 'b' });
  await indexLocal(root, { home, workers: false });
  const file = join(home, STATE_DB);
  for (const ext of ['-wal', '-shm']) if (existsSync(file + ext)) writeFileSync(file + ext, '');
  writeFileSync(file, 'this is not a database, it was overwritten by accident '.repeat(100));
  const env = { CONCORD_HOME: home };

  const failed = await runCli(['index', root], { env });
  assert.equal(failed.code, 1);
  assert.equal(
    failed.stderr,
    `concord: ${file}: the state database is corrupt (run \`concord index --rebuild ROOT\`: it keeps the damaged file beside the new one)\n`,
  );
  const sync = await runCli(['mirror', root, join(dir, 'copy')], { env });
  assert.equal(sync.code, 1);
  assert.match(sync.stderr, /state database is corrupt/);
  assert.ok(!existsSync(join(dir, 'copy')), 'a refused run writes nothing');

  const rebuilt = await runCli(['index', '--rebuild', root], { env });
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  assert.match(rebuilt.stdout, /2 files .* hashed now 2, reused 0/);
  const aside = readdirSync(home).filter((n) => n.startsWith(`${STATE_DB}.corrupt-`));
  assert.equal(aside.length, 1, 'the damaged file is kept, not deleted');
  assert.match(readFileSync(join(home, aside[0] as string), 'utf8'), /not a database/);
  assert.equal((await runCli(['status', root], { env })).code, 0);
});

test('a state database of 0 bytes (cut short) is refused, not silently replaced; index --rebuild keeps it aside and says what was lost', async (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'home');
  const env = { CONCORD_HOME: home };
  const [S1, S2] = [join(dir, 'S1'), join(dir, 'S2')];
  makeTree(S1, { 'keep.txt': 'k', 'gone.txt': 'g' });
  makeTree(S2, {});
  assert.equal((await runCli(['sync', S1, S2], { env })).code, 0);
  const file = join(home, STATE_DB);
  for (const ext of ['-wal', '-shm']) rmSync(file + ext, { force: true });
  writeFileSync(file, '');
  rmSync(join(S1, 'gone.txt'));

  const refused = await runCli(['sync', S1, S2], { env });
  assert.equal(refused.code, 1);
  assert.equal(
    refused.stderr,
    `concord: ${file}: the state database is empty (0 bytes): it was cut short (run \`concord index --rebuild ROOT\`: it keeps the empty file beside the new one)\n`,
  );
  assert.ok(existsSync(join(S2, 'gone.txt')), 'the refused run changed nothing');
  assert.equal(statSync(file).size, 0, 'and made no new database in its place');

  const rebuilt = await runCli(['index', '--rebuild', S1], { env });
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  assert.match(
    rebuilt.stderr,
    /moved to .*state\.db\.corrupt-\S+ and a new one made; could not read back: locations, pairs, ancestors/,
  );
  const aside = readdirSync(home).filter((n) => n.startsWith(`${STATE_DB}.corrupt-`));
  assert.deepEqual(
    aside.map((n) => statSync(join(home, n)).size),
    [0],
    'the empty file is kept',
  );
  // Without its ancestors the pair merges: the deleted file comes back, nothing is lost.
  assert.equal((await runCli(['sync', S1, S2], { env })).code, 0);
  assert.equal(readFileSync(join(S1, 'gone.txt'), 'utf8'), 'g');
});

test('a database file is made whole or not at all: header written before it appears, no temporary left, one made first kept', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'x.db');
  createDatabaseFile(file, (db) => db.pragma('journal_mode = WAL'));
  assert.ok(statSync(file).size > 0, 'the header is there');
  assert.deepEqual(readdirSync(dir), ['x.db']);
  const first = new Database(file);
  first.exec('CREATE TABLE kept (x)');
  first.close();
  createDatabaseFile(file, (db) => db.pragma('journal_mode = WAL'));
  const db = new Database(file);
  assert.equal(
    db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'kept'").pluck().get(),
    1,
  );
  db.close();
  assert.deepEqual(readdirSync(dir), ['x.db']);
});

test('a state directory that is a file, and a state database that is a directory: one line each naming it, exit 1', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'root');
  makeTree(root, { 'a.txt': 'a' });
  const homeFile = join(dir, 'home-file');
  writeFileSync(homeFile, 'not a directory');
  const r1 = await runCli(['index', root], { env: { CONCORD_HOME: homeFile } });
  assert.equal(r1.code, 1);
  assert.equal(
    r1.stderr,
    `concord: ${homeFile}: is not a directory: Concord keeps its state in a directory here (set CONCORD_HOME to a writable directory)\n`,
  );
  const home = join(dir, 'home');
  mkdirSync(join(home, STATE_DB), { recursive: true });
  const r2 = await runCli(['index', root], { env: { CONCORD_HOME: home } });
  assert.equal(r2.code, 1);
  assert.equal(
    r2.stderr,
    `concord: ${join(home, STATE_DB)}: is not a file: the state database should be here (move it out of the way, or set CONCORD_HOME elsewhere)\n`,
  );
});

test('index --rebuild on a database of a newer Concord: the one-line refusal, and the file stays where it is', async (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'home');
  const root = join(dir, 'root');
  makeTree(root, { 'a.txt': 'a' });
  await indexLocal(root, { home, workers: false });
  const db = new Database(join(home, STATE_DB));
  db.pragma('user_version = 999');
  db.close();
  const r = await runCli(['index', '--rebuild', root], { env: { CONCORD_HOME: home } });
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^concord: .*state\.db: the state database has schema version 999, newer than this Concord knows \(\d+\) \(upgrade Concord[^\n]*\n$/,
  );
  assert.deepEqual(
    readdirSync(home).filter((n) => n.includes('corrupt')),
    [],
  );
});

test('index --rebuild finds damage a count(*) does not see (a page of the files table), and keeps the pairs and ancestors it can still read', async (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'home');
  const env = { CONCORD_HOME: home };
  const root = join(dir, 'root');
  const files: Record<string, string> = {};
  for (let i = 0; i < 300; i++) files[`d${i % 10}/f${i}.txt`] = `file ${i} `.repeat(20);
  makeTree(root, files);
  const S1 = join(dir, 'S1');
  const S2 = join(dir, 'S2');
  makeTree(S1, { 'keep.txt': 'k', 'gone.txt': 'g' });
  makeTree(S2, {});
  assert.equal((await runCli(['index', root], { env })).code, 0);
  assert.equal((await runCli(['sync', S1, S2], { env })).code, 0);
  // Garbage over one page that only the files table uses (not its inode index, which count(*)
  // reads).
  const file = join(home, STATE_DB);
  const db = new Database(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const pages = db
    .prepare("SELECT pageno FROM dbstat WHERE name = 'files' AND pagetype = 'leaf' ORDER BY pageno")
    .pluck()
    .all() as number[];
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.close();
  assert.ok(pages.length > 0, 'the files table has leaf pages');
  const bytes = readFileSync(file);
  bytes.fill(0x5a, ((pages[0] as number) - 1) * pageSize, (pages[0] as number) * pageSize);
  writeFileSync(file, bytes);

  const r = await runCli(['index', '--rebuild', root], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /^concord: the damaged state database was moved to .*state\.db\.corrupt-\S+ and a new one made, holding all of it but the file index \(rebuilt now\)\n$/,
  );
  assert.equal(readdirSync(home).filter((n) => n.startsWith(`${STATE_DB}.corrupt-`)).length, 1);
  // The pair's ancestors came back: a deletion on S1 is carried to S2, not undone by a merge.
  rmSync(join(S1, 'gone.txt'));
  const sync = await runCli(['sync', S1, S2], { env });
  assert.equal(sync.code, 0, sync.stderr);
  assert.equal(existsSync(join(S2, 'gone.txt')), false, 'the deletion went through');
  assert.equal(existsSync(join(S1, 'gone.txt')), false, 'and was not brought back');
});

/** Tries to take the write lock through `db` until it can, for at most `ms`; the time it took. */
async function writeLockWithin(db: Database.Database, ms: number): Promise<number | undefined> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    try {
      db.exec('BEGIN IMMEDIATE');
      db.exec('COMMIT');
      return Date.now() - start;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}

test('S18 a batch of index writes left open while the scan waits (a large file being hashed) commits by itself: another Concord sharing the database is not kept out past its 5 s wait', async (t) => {
  const home = tempDir(t);
  const db = openStateDb(home);
  t.after(() => db.close());
  db.exec('CREATE TABLE scratch (x INTEGER)');
  const insert = db.prepare('INSERT INTO scratch VALUES (?)');
  const batch = WriteBatch.of(db);
  for (const x of [1, 2, 3]) {
    insert.run(x);
    batch.tick();
  }
  const other = new Database(join(home, STATE_DB), { timeout: 0 });
  t.after(() => other.close());
  assert.throws(() => other.exec('BEGIN IMMEDIATE'), /database is locked/, 'the batch holds it');
  const waited = await writeLockWithin(other, 4000);
  assert.ok(waited !== undefined && waited < 2000, `the lock came free after ${waited} ms`);
  assert.equal(other.prepare('SELECT count(*) FROM scratch').pluck().get(), 3, 'committed');
  // The batch goes on as before: the next write opens a new transaction.
  insert.run(4);
  batch.tick();
  batch.flush();
  assert.equal(other.prepare('SELECT count(*) FROM scratch').pluck().get(), 4);
});

test('a state database another process keeps locked past the 5 s wait: one line naming the file, exit 1, nothing written', async (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'home');
  const src = join(dir, 'src');
  makeTree(src, { 'a.txt': 'a' });
  openStateDb(home).close();
  const holder = new Database(join(home, STATE_DB));
  t.after(() => holder.close());
  holder.exec('BEGIN IMMEDIATE');
  const r = await runCli(['mirror', src, join(dir, 'copy')], { env: { CONCORD_HOME: home } });
  holder.exec('ROLLBACK');
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `concord: ${join(home, STATE_DB)}: the state database is busy (another Concord is writing) (try again when it has finished)\n`,
  );
  assert.ok(!existsSync(join(dir, 'copy')), 'the refused run wrote nothing');
});
