import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(REPO, 'bin', 'concord.js');

// Every test process keeps its state (index, locks) in a home of its own, never the user's;
// runs as nobody get one they can write.
const HOME = mkdtempSync(join(tmpdir(), 'concord-home-'));
chmodSync(HOME, 0o755);
const NOBODY_HOME = join(HOME, 'nobody');
mkdirSync(NOBODY_HOME);
chownSync(NOBODY_HOME, 65534, 65534);
process.env.CONCORD_HOME = join(HOME, 'root');
process.on('exit', () => rmSync(HOME, { recursive: true, force: true }));

/** A fresh temporary directory, removed when the test ends (pass the test context). */
export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'concord-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => {
    // Undo chmods that would stop the removal.
    try {
      for (const p of walkAll(dir)) if (!lstatSync(p).isSymbolicLink()) chmodSync(p, 0o777);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function walkAll(dir: string): string[] {
  const out = [dir];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) {
      chmodSync(p, 0o777);
      out.push(...walkAll(p));
    } else out.push(p);
  }
  return out;
}

/**
 * Fixture spec: a key ending in '/' is a directory; a string value is a file's content;
 * `{ link: target }` is a symlink; `{ content, mtime?: seconds, mode? }` a file with metadata;
 * `{ dir: true, mode?, mtime? }` a directory with metadata.
 */
export type Spec = Record<
  string,
  | string
  | { link: string; mtime?: number }
  | { content: string | Buffer; mtime?: number; mode?: number }
  | { dir: true; mode?: number; mtime?: number }
>;

export function makeTree(root: string, spec: Spec): void {
  mkdirSync(root, { recursive: true });
  const dirMeta: [string, { mode?: number; mtime?: number }][] = [];
  for (const [rel, v] of Object.entries(spec)) {
    const p = join(root, rel);
    if (rel.endsWith('/')) {
      mkdirSync(p, { recursive: true });
      continue;
    }
    mkdirSync(dirname(p), { recursive: true });
    if (typeof v === 'string') writeFileSync(p, v);
    else if ('link' in v) {
      symlinkSync(v.link, p);
      if (v.mtime !== undefined) lutimesSync(p, v.mtime, v.mtime);
    } else if ('dir' in v) {
      mkdirSync(p, { recursive: true });
      dirMeta.push([p, v]);
    } else {
      writeFileSync(p, v.content);
      if (v.mode !== undefined) chmodSync(p, v.mode);
      if (v.mtime !== undefined) utimesSync(p, v.mtime, v.mtime);
    }
  }
  for (const [p, v] of dirMeta.reverse()) {
    if (v.mode !== undefined) chmodSync(p, v.mode);
    if (v.mtime !== undefined) utimesSync(p, v.mtime, v.mtime);
  }
}

export interface Seen {
  kind: 'file' | 'dir' | 'symlink';
  content?: string;
  target?: string;
  mode?: number;
  /** Microseconds: what a copy's mtime is exact to (Node's utimes). */
  mtimeUs?: bigint;
}

/**
 * Everything under `root` (without `.concord/` at the top unless asked): kind, content, link
 * target, mode and mtime (to the microsecond) per relative path.
 */
export function readTree(
  root: string,
  opts: { withState?: boolean; meta?: boolean } = {},
): Record<string, Seen> {
  const out: Record<string, Seen> = {};
  const meta = opts.meta ?? true;
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (rel === '' && name === '.concord' && !opts.withState) continue;
      const p = join(dir, name);
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(p, { bigint: true });
      const mtimeUs = st.mtimeNs / 1000n;
      if (st.isSymbolicLink()) {
        out[r] = { kind: 'symlink', target: readlinkSync(p), ...(meta ? { mtimeUs } : {}) };
      } else if (st.isDirectory()) {
        walk(p, r);
        out[`${r}/`] = {
          kind: 'dir',
          ...(meta ? { mode: Number(st.mode & 0o7777n), mtimeUs } : {}),
        };
      } else if (st.isFile()) {
        out[r] = {
          kind: 'file',
          content: readFileSync(p, 'latin1'),
          ...(meta ? { mode: Number(st.mode & 0o7777n), mtimeUs } : {}),
        };
      }
    }
  };
  walk(root, '');
  return out;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would (`node bin/concord.js ...`). */
export function runCli(
  args: string[],
  opts: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    asNobody?: boolean;
    /** Kills the run (SIGKILL: a crash) once its output so far satisfies this. */
    killWhen?: (stdout: string) => boolean;
  } = {},
): Promise<CliResult> {
  const [cmd, argv] = opts.asNobody
    ? [
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args],
      ]
    : [process.execPath, [CLI, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv as string[], {
      cwd: opts.cwd,
      env: {
        ...process.env,
        ...(opts.asNobody ? { CONCORD_HOME: NOBODY_HOME } : {}),
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!killed && opts.killWhen?.(stdout)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The `--json` summary line of a run. */
export function summaryOf(r: CliResult): Record<string, unknown> {
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  const s = JSON.parse(line) as Record<string, unknown>;
  if (s.type !== 'summary') throw new Error(`last line is not a summary: ${line}`);
  return s;
}
