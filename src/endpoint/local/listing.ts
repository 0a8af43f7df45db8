import { readdirSync, unlinkSync } from 'node:fs';
import type { Entry } from '../../core/entry.ts';
import { compareNames, join, type RelPath } from '../../core/path.ts';
import { type Problem, problem } from '../../core/problem.ts';
import { errText } from '../../errors.ts';
import type { Listing } from '../endpoint.ts';
import { entryOf, lstatOrUndefined } from './stat.ts';

export const STATE_DIR = '.concord';
export const TEMP_PREFIX = '.concord-tmp-';

/**
 * One directory of a local root, synchronously: readdir, then lstat per entry (a loop of sync
 * calls is the fastest walk on 2 cores, STACK.md). Runs on the main thread or in a worker.
 */
export function listDir(absDir: string, dir: RelPath): Listing {
  let names: string[];
  try {
    names = readdirSync(absDir);
  } catch (err) {
    return {
      entries: [],
      problems: [
        problem(dir, 'unreadable', `cannot list directory: ${errText(err)}`, {
          hint: 'check its permissions',
        }),
      ],
      complete: false,
    };
  }
  const entries: Entry[] = [];
  const problems: Problem[] = [];
  if (names.some((n) => n.includes('\uFFFD'))) names = validNames(absDir, dir, problems);
  names.sort(compareNames);
  const leftovers: RelPath[] = [];
  let complete = true;
  for (const name of names) {
    if (dir === '' && name === STATE_DIR) continue;
    // Plain concatenation: path.join normalizes, and costs as much as a third of an lstat.
    const abs = `${absDir}/${name}`;
    if (name.startsWith(TEMP_PREFIX)) {
      // Leftovers of an interrupted run: never synced; the engine discards them on the
      // target once the guard rails have let the run go ahead.
      leftovers.push(join(dir, name));
      continue;
    }
    try {
      const st = lstatOrUndefined(abs);
      if (!st) continue; // vanished between readdir and lstat
      const e = entryOf(name, abs, st);
      if (e) entries.push(e);
      else
        problems.push(
          problem(join(dir, name), 'special-file', 'is a FIFO, socket or device: not synced'),
        );
    } catch (err) {
      complete = false;
      problems.push(problem(join(dir, name), 'unreadable', `cannot stat: ${errText(err)}`));
    }
  }
  return { entries, problems, complete, ...(leftovers.length > 0 ? { leftovers } : {}) };
}

export function tryUnlink(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // already gone
  }
}

/**
 * Node decodes file names as UTF-8 and replaces invalid bytes with U+FFFD, after which the
 * name no longer reaches the file: such an entry would be skipped in silence. Re-read the
 * directory as bytes and report every name that is not valid UTF-8 (it is never deleted on
 * the other side either: it is not in the listing).
 */
function validNames(absDir: string, dir: RelPath, problems: Problem[]): string[] {
  const valid: string[] = [];
  for (const raw of readdirSync(absDir, { encoding: 'buffer' })) {
    const name = raw.toString('utf8');
    if (Buffer.from(name, 'utf8').equals(raw)) valid.push(name);
    else {
      problems.push(
        problem(
          join(dir, name),
          'invalid-name',
          `name is not valid UTF-8 (bytes: ${raw.toString('hex')}): not synced`,
          {
            hint: 'rename it to a UTF-8 name',
          },
        ),
      );
    }
  }
  return valid;
}
