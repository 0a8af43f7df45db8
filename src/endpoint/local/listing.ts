import { readdirSync, readlinkSync, unlinkSync } from 'node:fs';
import { KIND_SYMLINK, NAME_SEP, type PackedEntries, unpackEntries } from '../../core/packed.ts';
import { compareNames, join, type RelPath, STATE_DIR } from '../../core/path.ts';
import { type Problem, problem } from '../../core/problem.ts';
import { errText } from '../../errors.ts';
import type { Listing, PackedListing } from '../endpoint.ts';
import { PackWriter } from './listing-codec.ts';
import { type NativeListing, nativeLister, systemError } from './native.ts';
import { type StatInto, statIntoSlow } from './stat-words.ts';

export { STATE_DIR };
export const TEMP_PREFIX = '.concord-tmp-';

/**
 * The names our temporary files are given (copy-file.ts tempName: the prefix, a process's 8-hex
 * tag, a base-36 counter, '-', the file's name; probe.ts: 'probe-' and 12 hex digits), which
 * list_dir.c checks too. Only these are leftovers, removed without a trace: a user's own
 * `.concord-tmp-notes` is a file like any other (matched by the prefix alone, it was deleted
 * for good on both sides).
 */
const TEMP_NAME = /^\.concord-tmp-(?:[0-9a-f]{8}[0-9a-z]*-|probe-[0-9a-f]{12}$)/;

export function isTempName(name: string): boolean {
  // The JavaScript listing asks for every entry: the plain prefix test rules out nearly all.
  return name.startsWith(TEMP_PREFIX) && TEMP_NAME.test(name);
}

/** A listing whose entries were written to a PackWriter, from entry `first` on. */
export interface ListedInto extends Omit<PackedListing, 'packed'> {
  names: string[];
  targets: string[];
  first: number;
}

/**
 * One directory of a local root, synchronously: readdir, then lstat per entry (in JavaScript a
 * loop of sync calls is the fastest walk on 2 cores, STACK.md), the entries packed into `out`.
 * Runs on the main thread or in a worker. Where the native lister (native.ts) was built it
 * lists instead, the same entries for less CPU; this is the fallback.
 */
export function listInto(
  absDir: string,
  dir: RelPath,
  out: PackWriter,
  stat: StatInto = statIntoSlow,
): ListedInto {
  const first = out.count;
  let all: string[];
  try {
    all = readdirSync(absDir);
  } catch (err) {
    return { names: [], targets: [], first, problems: [cannotList(dir, err)], complete: false };
  }
  const names: string[] = [];
  const targets: string[] = [];
  const problems: Problem[] = [];
  if (all.some((n) => n.includes('\uFFFD'))) all = validNames(absDir, dir, problems);
  all.sort(compareNames);
  const leftovers: RelPath[] = [];
  let complete = true;
  for (const name of all) {
    if (dir === '' && name === STATE_DIR) continue;
    // Plain concatenation: path.join normalizes, and costs as much as a third of an lstat.
    const abs = `${absDir}/${name}`;
    if (isTempName(name)) {
      // Leftovers of an interrupted run: never synced; the engine discards them on the
      // target once the guard rails have let the run go ahead.
      leftovers.push(join(dir, name));
      continue;
    }
    const words = out.add();
    try {
      const kind = stat(abs, out.words(), words);
      if (kind === undefined) {
        out.drop(); // vanished between readdir and lstat
        continue;
      }
      if (kind < 0) {
        out.drop();
        problems.push(
          problem(join(dir, name), 'special-file', 'is a FIFO, socket or device: not synced'),
        );
        continue;
      }
      if (kind === KIND_SYMLINK) targets.push(readlinkSync(abs, 'utf8'));
      names.push(name);
    } catch (err) {
      out.drop();
      complete = false;
      problems.push(problem(join(dir, name), 'unreadable', `cannot stat: ${errText(err)}`));
    }
  }
  return {
    names,
    targets,
    first,
    problems,
    complete,
    ...(leftovers.length > 0 ? { leftovers } : {}),
  };
}

/** The problem of a directory that could not be listed. */
function cannotList(dir: RelPath, err: unknown): Problem {
  const tooLong = (err as NodeJS.ErrnoException).code === 'ENAMETOOLONG';
  return problem(dir, 'unreadable', `cannot list directory: ${errText(err)}`, {
    // Linux takes paths of at most 4,096 bytes (PATH_MAX), whatever the file system holds.
    hint: tooLong
      ? 'its path is longer than the system takes: shorten a name above it'
      : 'check its permissions',
  });
}

/** The arguments of the native lister's `list` for `dir`: the state folder is skipped at the root. */
export function nativeArgs(dir: RelPath): [skip: string, tempPrefix: string] {
  return [dir === '' ? STATE_DIR : '', TEMP_PREFIX];
}

/**
 * A native listing (native.ts) as the PackedListing the JavaScript listing makes: the same
 * entries, problems and leftovers. Undefined when a name is not valid UTF-8 (the JavaScript
 * listing reports those).
 */
export function packedFromNative(
  r: NativeListing,
  absDir: string,
  dir: RelPath,
): PackedListing | undefined {
  if (r === null) return undefined;
  if (typeof r === 'number') {
    return {
      packed: { names: '', words: new Int32Array(0), targets: [] },
      problems: [cannotList(dir, systemError(r, 'scandir', absDir))],
      complete: false,
    };
  }
  // By index: destructuring goes through the array iterator (an object per element) in code
  // V8 has not optimised, which is most code of a run under a second (bin/concord.js).
  const names = r[0];
  const words = r[1];
  const targets = r[2];
  const leftoverNames = r[3];
  const specialNames = r[4];
  const failures = r[5];
  const digest = r[6];
  const problems: Problem[] = [];
  if (specialNames !== '') {
    for (const name of specialNames.split(NAME_SEP)) {
      problems.push(
        problem(join(dir, name), 'special-file', 'is a FIFO, socket or device: not synced'),
      );
    }
  }
  for (let i = 0; i < failures.length; i += 2) {
    const name = failures[i] as string;
    const err = systemError(failures[i + 1] as number, 'lstat', `${absDir}/${name}`);
    problems.push(problem(join(dir, name), 'unreadable', `cannot stat: ${errText(err)}`));
  }
  // In name order, as the JavaScript listing reports them.
  if (specialNames !== '' && failures.length > 0)
    problems.sort((a, b) => compareNames(a.path, b.path));
  const out: PackedListing = {
    packed: { names, words, targets, digest },
    problems,
    complete: failures.length === 0,
  };
  if (leftoverNames !== '') out.leftovers = leftoverNames.split(NAME_SEP).map((n) => join(dir, n));
  return out;
}

/** One directory, packed. */
// One writer per thread, reused (take() copies the entries out, and listing is synchronous): a
// new one per directory allocated a 48 KB buffer each time, and re-listing 4,000 directories
// after a first two-way sync raised its peak memory by ~30 MB of garbage buffers.
let shared: PackWriter | undefined;

export function listDirPacked(
  absDir: string,
  dir: RelPath,
  stat?: StatInto,
  native = true,
): PackedListing {
  const lister = native ? nativeLister() : undefined;
  const fast = lister && packedFromNative(lister.list(absDir, ...nativeArgs(dir)), absDir, dir);
  if (fast) return fast;
  shared ??= new PackWriter();
  const w = shared;
  w.count = 0; // a listing that threw left its entries behind

  const l = listInto(absDir, dir, w, stat);
  const packed: PackedEntries = {
    names: l.names.join(NAME_SEP),
    words: w.take(),
    targets: l.targets,
  };
  return packedListing(packed, l);
}

/** The listing of `l` with its entries `packed`. */
export function packedListing(packed: PackedEntries, l: ListedInto): PackedListing {
  const out: PackedListing = { packed, problems: l.problems, complete: l.complete };
  if (l.leftovers) out.leftovers = l.leftovers;
  return out;
}

/** One directory, as Entry objects. */
export function listDir(absDir: string, dir: RelPath): Listing {
  return unpackListing(listDirPacked(absDir, dir));
}

export function unpackListing({ packed, ...rest }: PackedListing): Listing {
  return { entries: unpackEntries(packed), ...rest };
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
