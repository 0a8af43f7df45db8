/**
 * S27: the ancestor describes the two roots as the pair's last sync left them, and only them.
 * A root restored from a backup or a snapshot, or a copy of one made with its .concord/ folder,
 * carries the same root id but is older than the ancestor: synced against it, every file added
 * since looks deleted there (and would be deleted on the other side), and every file edited
 * since looks edited back (its old version would replace the new one). Unison keeps its
 * archive on both replicas and falls back to a first sync when they differ; Concord keeps one
 * ancestor, so each run that changes it gives both roots a new random token, kept in the pair's row and in
 * `<root>/.concord/synced/<the other root's id>`. A root that holds neither the token nor the
 * one a killed run was writing is not the one the ancestor knows: the run is a first sync
 * (S13: a merge that deletes nothing).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_DIR } from '../core/path.ts';
import { ensureStateSubdir, writeWhole } from '../endpoint/local/state-dir.ts';
import { ConcordError, errText } from '../errors.ts';
import { nodeCrypto } from '../node-crypto.ts';
import type { StateDb } from './state-db.ts';

const SYNCED_DIR = 'synced';

/** One root of a pair: where it is and its id, and the id of the root it is paired with. */
export interface PairedRoot {
  abs: string;
  id: string;
  otherId: string;
}

/**
 * Whether both roots hold the token of the pair's last run, or the one a run killed while
 * writing them had begun to give (`next_token`). A pair that has no token yet (its first run,
 * or made before tokens) agrees: there is nothing to hold against it. Returns the roots that
 * do not agree.
 */
export function disagreeing<R extends PairedRoot>(db: StateDb, pairId: number, roots: R[]): R[] {
  const row = db
    .prepare<[number], { sync_token: string | null; next_token: string | null }>(
      'SELECT sync_token, next_token FROM pairs WHERE id = ?',
    )
    .get(pairId);
  // Read whether or not the row has a token: a token path that cannot be read is refused
  // here, before the run, not when the first change renews it.
  const tokens = roots.map(readToken);
  if (!row?.sync_token) return [];
  const known = [row.sync_token, row.next_token];
  return roots.filter((_, i) => {
    const token = tokens[i];
    return token === undefined || !known.includes(token);
  });
}

/**
 * Gives the pair a new token: first into its row as the next one, then into both roots, then as
 * the token. A kill at any point leaves each root with a token the row knows. Called before a
 * run first changes the ancestor (AncestorStore's beforeChange): from then on, a copy of a root
 * taken before is not the state the ancestor describes. A run that changes no row (nothing to
 * do, or refused by a guard) writes nothing into the roots.
 */
export function renewToken(db: StateDb, pairId: number, roots: PairedRoot[]): void {
  const token = nodeCrypto().randomBytes(16).toString('hex');
  db.prepare('UPDATE pairs SET next_token = ? WHERE id = ?').run(token, pairId);
  for (const r of roots) writeToken(r, token);
  db.prepare('UPDATE pairs SET sync_token = ?, next_token = NULL WHERE id = ?').run(token, pairId);
}

function tokenFile(r: PairedRoot): string {
  return join(r.abs, STATE_DIR, SYNCED_DIR, r.otherId);
}

function readToken(r: PairedRoot): string | undefined {
  try {
    return readFileSync(tokenFile(r), 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConcordError('bad-root', `cannot read the pair's sync token: ${errText(err)}`, {
      path: tokenFile(r),
      hint: 'make it readable, or delete it: the next sync is then a first sync (a merge)',
      cause: err,
    });
  }
}

function writeToken(r: PairedRoot, token: string): void {
  const file = tokenFile(r);
  try {
    writeWhole(join(ensureStateSubdir(r.abs, SYNCED_DIR), r.otherId), `${token}\n`);
  } catch (err) {
    throw new ConcordError('bad-root', `cannot write the pair's sync token: ${errText(err)}`, {
      path: file,
      hint: 'Concord keeps it in .concord/ at the root: make the root writable',
      cause: err,
    });
  }
}
