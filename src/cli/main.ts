import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nativeLister, nativeMalloc } from '../endpoint/local/native.ts';
import { prestartWalkers } from '../endpoint/local/walk-ahead.ts';
import { ConcordError, EXIT, errText, exitCodeOf, oneLine } from '../errors.ts';
import { concordHome, STATE_DB } from '../index/home.ts';
import { stateError } from '../index/state-error.ts';
import { PACKAGE_ROOT } from '../package-root.ts';
import type { Out } from './render.ts';

const HELP = `concord: keep two directory trees in agreement

Usage:
  concord copy   A B [options]      one-way: new and changed files flow A -> B; nothing only on B is deleted
  concord mirror A B [options]      one-way: B becomes an exact copy of A; extras on B go to B's trash
  concord sync   A B [options]      two-way: changes flow both ways; conflicts settled by --conflict
  concord sync   NAME               sync the pair NAME (see concord pair)
  concord sync   A B --mode MODE    MODE is two-way (default), replica, mirror or backup
  concord backup A B [--keep-last N] [--keep-within AGE] [--keep-staggered]
                                    one-way with history: B mirrors A; every version a backup
                                    replaces or deletes is kept in B/.concord/history/
  concord versions B [PATH]         the versions B's history holds (for a file, or under a directory)
  concord restore  B PATH [--at TIME] [--to DIR] [--yes]
                                    PATH (/ for all) as the backup at TIME saw it (default: latest)
  concord prune    B [--keep-last N] [--keep-within AGE] [--keep-staggered]   apply retention now
  concord trash  list ROOT [--json]                     what ROOT's trash holds
  concord trash  restore ROOT PATH [--at TIME] [--to DIR]   put back the newest trashed version
  concord trash  empty ROOT [--older-than AGE]          (the trash also expires after 30 days)
  concord plan   A B [--mode MODE]  what a sync would do, and why; changes nothing
  concord pair   add NAME A B [--mode M] [--conflict P] [--exclude G]...   remember a pair
  concord pair   list | remove NAME | forget NAME   (forget: the next sync is a first sync)
  concord index  ROOT [--rebuild]   build or refresh ROOT's file index (hashes only what changed)
  concord status ROOT               what changed in ROOT since its index last saw it
  concord --version | --help

Options:
  -n, --dry-run           show the summary of what would be done; change nothing
      --json              NDJSON events on stdout, one {"type":"summary",...} line last
  -c, --checksum          compare file content by hash, not size + mtime
      --modify-window S   treat mtimes within S seconds as equal (FAT: 2)
      --exclude GLOB      leave matching paths out (gitignore syntax; repeatable)
      --include GLOB      take matching paths back in (as !GLOB; the last matching rule wins)
      --max-delete N      refuse, before changing anything, a run that would delete more than N
      --no-trash          delete and overwrite for good instead of keeping B/.concord/trash/
      --concurrency N     file copies in flight at once (default 128)
      --fsync             flush each file to disk before it is renamed into place
      --conflict POLICY   two-way: keep-both (default), keep-source, keep-destination,
                          keep-newer, keep-larger, prompt (ask on a terminal)
      --conflict-fallback POLICY   what prompt does with no terminal (else it exits 2)
      --force             two-way: go on although more than half of a side would be deleted,
                          or a root is empty while the last sync saw files there

A .concordignore file in A's root adds gitignore rules. B/.concord/ is never synced.
State (the index, run locks) lives in $CONCORD_HOME (default ~/.local/share/concord).
Exit codes: 0 in sync; 1 failed; 2 bad usage or input, or a guard refused the run;
3 finished but entries or conflicts were skipped (each one listed); 130 interrupted.`;

/**
 * What bin/concord.js sets for the whole process once it runs: malloc grows its heap by 2 MiB at
 * least (glibc's M_TOP_PAD). Each new page of it costs a page fault, ~10 us on our VM. The
 * tunable glibc.malloc.top_pad did the same from the start, but the shebang line has no room
 * left for it (its comment says why); from here it is as good (interleaved no-op mirrors, 25
 * rounds: 457 ms with the tunable, 464 ms with this, 478 ms with neither).
 */
export function tuneProcess(): void {
  nativeMalloc()?.mallocTopPad(2 * 1024 * 1024);
  // A reader that went away (`concord status ROOT | head -1`, `--json | head`): Node ignores
  // SIGPIPE, and the EPIPE came as an uncaught error with a stack trace, exit 1, the run cut
  // short wherever it was. The rest of the output is dropped, and the run goes on to its end.
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    });
}

/**
 * The first argument that is not what was typed, or -1. Node turns bytes that are not UTF-8
 * into U+FFFD in process.argv, so `X\xfe` and `X\xff` both named the directory `X\uFFFD`: a
 * mirror went into a directory that was not the one given, and deleted what it held. Linux
 * keeps the bytes in /proc/self/cmdline; `args` are its last entries.
 */
export function notUtf8Argument(args: string[]): number {
  if (!args.some((a) => a.includes('\uFFFD'))) return -1;
  let raw: Buffer;
  try {
    raw = readFileSync('/proc/self/cmdline');
  } catch {
    return -1;
  }
  const words: Buffer[] = [];
  for (let at = 0; at < raw.length; ) {
    const end = raw.indexOf(0, at);
    words.push(raw.subarray(at, end < 0 ? raw.length : end));
    at = end < 0 ? raw.length : end + 1;
  }
  const typed = words.slice(words.length - args.length);
  return args.findIndex((a, i) => !Buffer.from(a, 'utf8').equals(typed[i] ?? Buffer.alloc(0)));
}

/** The one line a run whose argument `at` is not UTF-8 prints, refused (exit 2). */
export function notUtf8Error(args: string[], at: number): ConcordError {
  return new ConcordError(
    'usage',
    `argument ${at + 1} ('${args[at]}') is not valid UTF-8: Concord takes paths and names in UTF-8`,
    { hint: 'rename it to UTF-8, e.g. with convmv' },
  );
}

export async function main(argv: string[], out: Out = process): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case '--version':
      case '-V':
      case 'version':
        out.stdout.write(`${version()}\n`);
        return EXIT.ok;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        out.stdout.write(`${HELP}\n`);
        return command === undefined ? EXIT.usage : EXIT.ok;
      case 'copy':
      case 'mirror':
      case 'sync':
      case 'plan': {
        // Without the native lister both roots are walked on threads of their own: start them
        // while the rest loads.
        if (!nativeLister()) prestartWalkers(2);
        const { runSyncCommand } = await import('./sync-command.ts');
        return await runSyncCommand(command, rest, out);
      }
      case 'backup':
      case 'versions':
      case 'restore':
      case 'prune': {
        const { runBackupCommand } = await import('./backup-command.ts');
        return await runBackupCommand(command, rest, out);
      }
      case 'trash': {
        const { runTrashCommand } = await import('./trash-command.ts');
        return await runTrashCommand(rest, out);
      }
      case 'index': {
        const { runIndexCommand } = await import('./index-command.ts');
        return await runIndexCommand(rest, out);
      }
      case 'pair': {
        const { runPairCommand } = await import('./pair-command.ts');
        return await runPairCommand(rest, out);
      }
      case 'status': {
        const { runStatusCommand } = await import('./index-command.ts');
        return await runStatusCommand(rest, out);
      }
      default:
        throw new ConcordError('usage', `unknown command '${command}'`, {
          hint: 'see concord --help',
        });
    }
  } catch (err) {
    // A database error that no layer below turned into a ConcordError (a write that waited
    // longer than the busy timeout, a disk full mid-run): still one line naming the file.
    const e = err as NodeJS.ErrnoException;
    const known =
      err instanceof Error && err.name === 'SqliteError' && !process.env.CONCORD_DEBUG
        ? stateError(join(concordHome(), STATE_DB), err)
        : // process.cwd() of a directory removed under the shell: relative roots mean nothing.
          e?.syscall === 'uv_cwd'
          ? new ConcordError('usage', `the current directory no longer exists (${errText(e)})`, {
              hint: 'cd into one that does, or give absolute paths',
            })
          : err;
    if (known instanceof ConcordError) {
      out.stderr.write(`concord: ${known.line()}\n`);
      return exitCodeOf(known);
    }
    if (e?.code !== undefined && e.syscall !== undefined && !process.env.CONCORD_DEBUG) {
      // A system error the engine did not expect here: one line, the stack only on request.
      out.stderr.write(
        `concord: ${oneLine(`${e.path ? `${e.path}: ` : ''}${errText(e)}`)} (CONCORD_DEBUG=1 shows where)\n`,
      );
      return EXIT.failed;
    }
    out.stderr.write(
      `concord: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return EXIT.failed;
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
