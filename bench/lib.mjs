// Shared helpers for the Concord benchmarks (mirror, index, two-way; moves later).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const GNU_TIME = '/usr/bin/time';

// Bump when generateTree changes, so trees cached under the data dir are rebuilt.
const GENERATOR_VERSION = 1;

const WORDS = ['src', 'docs', 'assets', 'lib', 'photos', 'notes', 'build', 'cache', 'data', 'misc'];
const EXTS = ['txt', 'md', 'json', 'js', 'png', 'jpg', 'bin', 'log', 'csv', 'html'];

/** Seeded PRNG (mulberry32): fast and reproducible, not for cryptography. */
export function createRng(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    uint32: next,
    float: () => next() / 2 ** 32,
    /** Integer in [min, max], both inclusive. */
    int: (min, max) => min + Math.floor((next() / 2 ** 32) * (max - min + 1)),
    pick: (items) => items[Math.floor((next() / 2 ** 32) * items.length)],
    bytes: (n) => {
      const words = new Uint32Array(Math.ceil(n / 4));
      for (let i = 0; i < words.length; i++) words[i] = next();
      return Buffer.from(words.buffer, 0, n);
    },
  };
}

/** Mostly 1-4 KiB like typical source/doc trees, with a tail of empty, tiny and larger files. */
export function pickFileSize(rng) {
  const r = rng.float();
  if (r < 0.02) return 0;
  if (r < 0.15) return rng.int(1, 1023);
  if (r < 0.85) return rng.int(1024, 4096);
  return rng.int(4097, 16384);
}

/**
 * Writes `files` files into `dirs` directories nested 1-3 levels under `root`.
 * Deeper levels get more directories, as in real trees.
 */
export function generateTree(root, { files, dirs, seed }) {
  const rng = createRng(seed);
  const byDepth = [[''], [], [], []];
  fs.mkdirSync(root, { recursive: true });
  for (let i = 0; i < dirs; i++) {
    const r = rng.float();
    let depth = r < 0.1 ? 1 : r < 0.4 ? 2 : 3;
    while (byDepth[depth - 1].length === 0) depth--;
    const rel = path.join(rng.pick(byDepth[depth - 1]), `${rng.pick(WORDS)}-${i}`);
    fs.mkdirSync(path.join(root, rel));
    byDepth[depth].push(rel);
  }
  const allDirs = byDepth.flat();
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const name = `${rng.pick(WORDS)}-${i}.${rng.pick(EXTS)}`;
    const content = rng.bytes(pickFileSize(rng));
    fs.writeFileSync(path.join(root, rng.pick(allDirs), name), content);
    bytes += content.length;
  }
  return { files, dirs, bytes };
}

/**
 * Returns the source tree for these parameters, generating it only when no complete tree exists.
 * The marker is written last, so an interrupted generation is redone rather than reused.
 */
export function ensureTree(dataDir, { files, dirs, seed }) {
  return ensureGenerated(
    dataDir,
    `tree-f${files}-d${dirs}-s${seed}`,
    { generator: GENERATOR_VERSION, files, dirs, seed },
    (src) => generateTree(src, { files, dirs, seed }),
  );
}

/**
 * The cache behind ensureTree, for any generator: `DATA/<name>/src` plus a `params.json` marker
 * that must hold every field of `params` (give each generator its own `generator` value and bump
 * it when its output changes). `generate(src)` returns the summary stored in the marker.
 * Returns `{ dir, src, markerPath, reused, summary }`.
 */
export function ensureGenerated(dataDir, name, params, generate) {
  const dir = path.join(dataDir, name);
  const src = path.join(dir, 'src');
  const markerPath = path.join(dir, 'params.json');
  try {
    const marker = JSON.parse(fs.readFileSync(markerPath, 'utf8'));
    if (Object.entries(params).every(([k, v]) => marker[k] === v)) {
      return { dir, src, markerPath, reused: true, summary: marker.summary };
    }
  } catch {
    // No usable marker: (re)generate below.
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(src, { recursive: true });
  const summary = generate(src);
  fs.writeFileSync(markerPath, `${JSON.stringify({ ...params, summary }, null, 2)}\n`);
  return { dir, src, markerPath, reused: false, summary };
}

/**
 * Changes a cached tree for a while: `change()` alters it and returns an undo function, `body()`
 * runs, then the undo. The marker is moved aside meanwhile, so a bench that dies before the undo
 * has run regenerates the tree next time instead of reusing an altered one.
 */
export async function withTreeChanged(tree, change, body) {
  const aside = `${tree.markerPath}.aside`;
  fs.renameSync(tree.markerPath, aside);
  const undo = change();
  try {
    return await body();
  } finally {
    undo();
    fs.renameSync(aside, tree.markerPath);
  }
}

/** Seeded pseudo-random bytes to cut file contents from (64 MiB take about 0.4 s to make). */
export function createContentPool(seed, size = 64 * 1024 * 1024) {
  return createRng(seed).bytes(size);
}

/**
 * Writes `size` bytes to `file`: a 16-byte header naming `id`, so no two files are alike, then
 * slices of `pool` at seeded offsets (64 KiB to 4 MiB each), which is far faster than a PRNG.
 */
export function writePoolFile(file, { pool, rng, size, id }) {
  const fd = fs.openSync(file, 'w');
  try {
    const header = Buffer.alloc(16, 0x20);
    header.write(String(id).slice(0, 16));
    let done = fs.writeSync(fd, header, 0, Math.min(16, size));
    while (done < size) {
      const len = Math.min(size - done, rng.int(64 * 1024, 4 * 1024 * 1024), pool.length);
      const start = rng.int(0, pool.length - len);
      done += fs.writeSync(fd, pool, start, len);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** `count` files of `size` bytes each in `root`: large-0.bin, large-1.bin, ... */
export function generateLargeTree(root, { count, size, seed }) {
  const pool = createContentPool(seed);
  const rng = createRng(seed + 1);
  for (let i = 0; i < count; i++) {
    writePoolFile(path.join(root, `large-${i}.bin`), { pool, rng, size, id: `large-${i}` });
  }
  return { files: count, dirs: 0, bytes: count * size };
}

/**
 * `files` media-like files (IMG_n.jpg, VID_n.mp4, ...) of `minSize` to `maxSize` bytes, uniformly
 * distributed, in albums of about 100 files under one directory per year.
 */
export function generateMediaTree(root, { files, minSize, maxSize, seed }) {
  const pool = createContentPool(seed);
  const rng = createRng(seed + 1);
  const albums = Math.max(1, Math.round(files / 100));
  const dirs = [];
  for (let i = 0; i < albums; i++) {
    const dir = path.join(`${2000 + (i % 25)}`, `album-${i}`);
    fs.mkdirSync(path.join(root, dir), { recursive: true });
    dirs.push(dir);
  }
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const name = `${rng.pick(MEDIA_NAMES)}_${i}.${rng.pick(MEDIA_EXTS)}`;
    const size = rng.int(minSize, maxSize);
    writePoolFile(path.join(root, rng.pick(dirs), name), { pool, rng, size, id: `media-${i}` });
    bytes += size;
  }
  const years = new Set(dirs.map((d) => path.dirname(d))).size;
  return { files, dirs: albums + years, bytes };
}

const MEDIA_NAMES = ['IMG', 'DSC', 'VID', 'PXL'];
const MEDIA_EXTS = ['jpg', 'jpg', 'jpg', 'heic', 'png', 'mp4', 'mov', 'cr2'];

/** Counts regular files, directories and file bytes; `exclude` lists top-level names to skip. */
export function summarizeTree(root, { exclude = [] } = {}) {
  const summary = { files: 0, dirs: 0, bytes: 0 };
  const walk = (dir, top) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (top && exclude.includes(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        summary.dirs++;
        walk(full, false);
      } else if (entry.isFile()) {
        summary.files++;
        summary.bytes += fs.lstatSync(full).size;
      }
    }
  };
  walk(root, true);
  return summary;
}

/**
 * Moves directories aside so they can be deleted after the timed work. On ext4 without a journal
 * (as on some CI VMs), creating files within minutes of deleting many makes the kernel skip past
 * the recently freed inodes one by one, which made copies several times slower in testing.
 */
export function createTrash(dir) {
  let count = 0;
  return {
    retire(target) {
      if (!fs.existsSync(target)) return;
      fs.mkdirSync(dir, { recursive: true });
      fs.renameSync(target, path.join(dir, `${Date.now()}-${count++}`));
    },
    empty() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Variables the tools run without. Node reads and parses NODE_EXTRA_CA_CERTS's file at every
 * start, before a line of ours runs: Debian's 140 KB bundle cost each start ~38 ms on our VM
 * (`node -e 0`: 106 -> 68 ms), a tenth of a no-op mirror. No tool here makes a TLS connection;
 * machines set it behind TLS-inspecting proxies, as ours does. The header says when one was
 * removed.
 */
const REMOVED_ENV = ['NODE_EXTRA_CA_CERTS'];

function toolEnv() {
  const env = { ...process.env };
  for (const name of REMOVED_ENV) delete env[name];
  return env;
}

export function hasGnuTime() {
  return fs.existsSync(GNU_TIME);
}

/**
 * Runs a command with stdout discarded and stderr captured. Wall time is measured around the
 * spawn; peak RSS (KiB) comes from GNU time and is null when it is unavailable. GNU time reports
 * the largest single process, so multi-process tools (rsync forks locally) are not summed.
 * `env` adds variables to the child's environment.
 */
export function timeCommand(cmd, args, { memory = hasGnuTime(), env } = {}) {
  const base = toolEnv();
  const rssFile = path.join(os.tmpdir(), `concord-bench-${process.pid}.rss`);
  // -o keeps GNU time's output apart from the child's own stderr.
  const [file, argv] = memory ? [GNU_TIME, ['-f', '%M', '-o', rssFile, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const stderr = [];
    let end;
    const start = process.hrtime.bigint();
    const child = spawn(file, argv, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: env ? { ...base, ...env } : base,
    });
    child.stderr.on('data', (chunk) => stderr.push(chunk));
    child.on('error', reject);
    child.on('exit', () => {
      end = process.hrtime.bigint();
    });
    child.on('close', (code, signal) => {
      resolve({
        code,
        signal,
        seconds: Number(end - start) / 1e9,
        peakKiB: memory ? readPeakKiB(rssFile) : null,
        stderr: Buffer.concat(stderr).toString(),
      });
    });
  });
}

function readPeakKiB(file) {
  try {
    // On failure GNU time writes "Command exited with non-zero status N" before the figure.
    const last = fs.readFileSync(file, 'utf8').trim().split('\n').pop();
    const kib = Number.parseInt(last, 10);
    return Number.isFinite(kib) ? kib : null;
  } catch {
    return null;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** Brings the tree's metadata into the page cache so no tool pays for a cold cache. */
export function warmCache(dir) {
  spawnSync('find', [dir], { stdio: 'ignore' });
}

/**
 * Reads every file under dir, so that its content is in the page cache too (warmCache only
 * reads metadata). Tools that drop what they read from the cache (rclone: fadvise DONTNEED)
 * would otherwise make the next tool read from the disk.
 */
export function warmContent(dir) {
  spawnSync(
    'sh',
    ['-c', 'find "$1" -type f -print0 | xargs -0 -r -P 2 -n 1000 cat >/dev/null', 'sh', dir],
    {
      stdio: 'ignore',
    },
  );
}

/** First line of a command's stdout, or null if it cannot run. */
export function commandLine(cmd, args) {
  const out = spawnSync(cmd, args, { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.split('\n')[0].trim() : null;
}

export function environmentInfo() {
  return {
    date: new Date().toISOString(),
    nproc: Number(commandLine('nproc', [])) || os.availableParallelism(),
    node: process.version,
    cpu: os.cpus()[0]?.model ?? null,
    kernel: `${os.type()} ${os.release()}`,
    removedEnv: REMOVED_ENV.filter((name) => process.env[name] !== undefined),
  };
}

/** Median of the non-null values, or null when there are none. */
export function median(values) {
  const sorted = values.filter((v) => v != null).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Rotates the list by `n`, so that across runs every tool takes each position in turn. */
export function rotate(items, n) {
  const k = n % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Plain-text table: first column left-aligned, the rest right-aligned; null shows as n/a. */
export function formatTable(header, rows) {
  const cells = [header, ...rows].map((row) => row.map((c) => (c == null ? 'n/a' : String(c))));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  const line = (row) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n');
}

export function formatBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

/**
 * The command that runs the CLI at `bin` as its shebang line does (`npx concord` and an
 * installed `concord` run it that way): the variables the line sets (through `env`, `${VAR}`
 * expanded), its node flags, then the script. With `process.execPath` as the node, every run
 * uses this same node.
 */
export function concordCommand(bin, ...args) {
  const first = fs.readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  // `env -S` may be joined to its first word (`-SVAR=...`): the line has to fit in 127 bytes.
  const words = (first.startsWith('#!') ? first.slice(2).trim().split(/\s+/) : [])
    .map((w) => (w.startsWith('-S') ? w.slice(2) : w))
    .filter((w) => w !== '');
  const at = words.indexOf('node');
  const sets = words
    .slice(0, Math.max(at, 0))
    .filter((w) => /^[A-Za-z_]\w*=/.test(w))
    .map((w) => w.replace(/\$\{(\w+)\}/g, (_, name) => process.env[name] ?? ''));
  const argv = [...(at < 0 ? [] : words.slice(at + 1)), bin, ...args];
  return sets.length === 0
    ? [process.execPath, argv]
    : ['env', [...sets, process.execPath, ...argv]];
}
