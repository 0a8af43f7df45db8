// Issue 5 benchmark: a renamed top-level directory of the media tree, re-synced one way by
// concord mirror, rsync -a --delete and rclone sync --track-renames. See bench/README.md.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  commandLine,
  concordCommand,
  ensureGenerated,
  environmentInfo,
  formatBytes,
  formatTable,
  generateMediaTree,
  median,
  rotate,
  summarizeTree,
  timeCommand,
  warmCache,
  warmContent,
  withTreeChanged,
} from './lib.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
let CONCORD_BIN = path.join(REPO, 'bin', 'concord.js');
const SEED = 1;
const MIB = 1024 * 1024;
/** The top-level directory holding every file, and its name after the rename. */
const TOP = 'Photos';
const RENAMED = 'Pictures 2026';

const RCLONE_FLAGS = ['--links', '--create-empty-src-dirs', '--config', '/dev/null', '-q'];

// (src, dst, ctx) => [cmd, args, env]; the same command for the initial copy and the re-sync.
const TOOLS = {
  concord: (src, dst, ctx) => [
    ...concordCommand(CONCORD_BIN, 'mirror', src, dst),
    { CONCORD_HOME: ctx.home },
  ],
  rsync: (src, dst) => ['rsync', ['-a', '--delete', `${src}/`, `${dst}/`]],
  // --fuzzy looks for a basis file in the target's own directory only: no help for a renamed
  // directory, shown to make the point.
  'rsync-fuzzy': (src, dst) => ['rsync', ['-a', '--delete-after', '--fuzzy', `${src}/`, `${dst}/`]],
  rclone: (src, dst) => ['rclone', ['sync', src, dst, '--track-renames', ...RCLONE_FLAGS]],
};

const USAGE = `usage: node bench/moves.mjs [--media-files 5000] [--scale F] [--runs 1]
       [--tools concord,rsync,rclone] [--data bench/.data] [--concord bin/concord.js] [--keep]`;

function fail(message) {
  console.error(`moves bench: ${message}\n${USAGE}`);
  process.exit(2);
}

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'media-files': { type: 'string' },
        scale: { type: 'string', default: '1' },
        runs: { type: 'string', default: '1' },
        tools: { type: 'string', default: 'concord,rsync,rclone' },
        data: { type: 'string', default: path.join(REPO, 'bench', '.data') },
        concord: { type: 'string' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    fail(err.message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const scale = Number(values.scale);
  if (!(scale > 0)) fail('--scale must be a positive number');
  const files =
    values['media-files'] == null
      ? Math.max(1, Math.round(5000 * scale))
      : Number(values['media-files']);
  if (!Number.isInteger(files) || files < 1) fail('--media-files must be a positive integer');
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) fail('--runs must be a positive integer');
  const tools = values.tools.split(',').filter(Boolean);
  if (!tools.length || tools.some((t) => !(t in TOOLS)))
    fail(`--tools takes a subset of ${Object.keys(TOOLS)}`);
  if (values.concord) CONCORD_BIN = path.resolve(values.concord);
  return { files, runs, tools, data: path.resolve(values.data), keep: values.keep };
}

/** The media tree of bench/index.mjs, under one top-level directory. */
function ensureMedia(data, files) {
  const spec = { files, minSize: Math.round(MIB / 10), maxSize: 5 * MIB, seed: SEED };
  return ensureGenerated(
    data,
    `moves-media-f${files}-s${SEED}`,
    { generator: 'moves-media-1', ...spec },
    (src) => generateMediaTree(path.join(src, TOP), spec),
  );
}

/**
 * The files under root by identity, inode and birth time (a new file may get a freed inode
 * number, never an old birth time), with their sizes: what was there before the re-sync.
 */
function fileInodes(root) {
  const out = new Map();
  const walk = (dir, top) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (top && e.name === '.concord') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, false);
      else if (e.isFile()) {
        const st = fs.lstatSync(p, { bigint: true });
        out.set(`${st.ino}:${st.birthtimeNs}`, Number(st.size));
      }
    }
  };
  walk(root, true);
  return out;
}

/**
 * Bytes the re-sync wrote: the sizes of the files in dst that were not there before. A rename
 * keeps the file; a copy makes a new one. The same measure for every tool.
 */
function bytesWritten(before, after) {
  let bytes = 0;
  for (const [id, size] of after) if (!before.has(id)) bytes += size;
  return bytes;
}

function sameSummary(src, dst) {
  const a = summarizeTree(src);
  const b = summarizeTree(dst, { exclude: ['.concord'] });
  return a.files === b.files && a.dirs === b.dirs && a.bytes === b.bytes;
}

/** Renames the top-level directory of the source; returns the undo. */
function rename(src) {
  return () => {
    const from = path.join(src, TOP);
    const to = path.join(src, RENAMED);
    fs.renameSync(from, to);
    return () => fs.renameSync(to, from);
  };
}

async function timed(tool, src, dst, ctx) {
  const [cmd, args, env] = TOOLS[tool](src, dst, ctx);
  const r = await timeCommand(cmd, args, { env });
  // Untimed: no tool pays for the writeback of the one before it.
  spawnSync('sync');
  if (r.code !== 0) throw new Error(`${tool} exited ${r.code ?? r.signal}: ${r.stderr.trim()}`);
  // rclone reads with fadvise(DONTNEED): bring the source back into the page cache.
  if (tool === 'rclone') warmContent(src);
  return r;
}

async function main() {
  const opts = parseOptions();
  fs.mkdirSync(opts.data, { recursive: true });
  console.log(`moves bench: ${opts.files} media files, ${opts.runs} run(s), ${opts.tools}`);
  const removed = environmentInfo().removedEnv;
  if (removed.length > 0) console.log(`tools run without ${removed.join(', ')}`);
  const tree = ensureMedia(opts.data, opts.files);
  const { summary } = tree;
  console.log(
    `source: ${summary.files} files, ${formatBytes(summary.bytes)} in ${tree.src}/${TOP}` +
      (tree.reused ? ' (cached)' : ''),
  );
  const work = path.join(opts.data, 'moves-work');
  const rows = Object.fromEntries(
    opts.tools.map((t) => [t, { initial: [], resync: [], bytes: [] }]),
  );
  const mismatches = [];
  const load = [os.loadavg()[0]];
  for (let run = 0; run < opts.runs; run++) {
    // One tool at a time (initial copy, rename, re-sync, then its copy is deleted), so the disk
    // holds the source and one destination: 25 GB for the full tree rather than 62.
    for (const tool of rotate(opts.tools, run)) {
      const dst = path.join(work, 'dst', tool);
      const ctx = { home: path.join(work, 'home', tool) };
      fs.rmSync(path.join(work, 'dst'), { recursive: true, force: true });
      fs.rmSync(ctx.home, { recursive: true, force: true });
      fs.mkdirSync(dst, { recursive: true });
      spawnSync('sync');
      warmCache(tree.src);
      warmContent(tree.src);
      const first = await timed(tool, tree.src, dst, ctx);
      rows[tool].initial.push(first.seconds);
      if (!sameSummary(tree.src, dst)) mismatches.push(`${tool} initial`);
      await withTreeChanged(tree, rename(tree.src), async () => {
        warmCache(tree.src);
        const before = fileInodes(dst);
        const r = await timed(tool, tree.src, dst, ctx);
        const bytes = bytesWritten(before, fileInodes(dst));
        rows[tool].resync.push(r.seconds);
        rows[tool].bytes.push(bytes);
        if (!sameSummary(tree.src, dst) || fs.existsSync(path.join(dst, TOP)))
          mismatches.push(`${tool} re-sync`);
        console.log(
          `run ${run + 1}: ${tool} initial ${first.seconds.toFixed(2)} s, re-sync ${r.seconds.toFixed(2)} s, ${formatBytes(bytes)} written`,
        );
      });
    }
  }
  load.push(os.loadavg()[0]);
  if (!opts.keep) fs.rmSync(work, { recursive: true, force: true });

  const table = opts.tools.map((tool) => {
    const initial = median(rows[tool].initial);
    const resync = median(rows[tool].resync);
    return [
      tool,
      `${initial.toFixed(2)} s`,
      `${resync.toFixed(2)} s`,
      formatBytes(median(rows[tool].bytes)),
      `${((100 * resync) / initial).toFixed(1)}%`,
    ];
  });
  console.log('');
  console.log(
    `rename of ${TOP}/ (${summary.files} files, ${formatBytes(summary.bytes)}), median of ${opts.runs}:`,
  );
  console.log(formatTable(['tool', 'initial', 're-sync', 'written', 're-sync/initial'], table));
  const c = rows.concord;
  if (c) {
    const pct = (100 * median(c.resync)) / median(c.initial);
    const zero = median(c.bytes) === 0;
    console.log(
      `aim: zero bytes copied (${zero ? 'met' : 'not met'}), re-sync < 5% of the initial copy (${pct.toFixed(1)}%: ${pct < 5 ? 'met' : 'not met'})`,
    );
  }
  for (const m of mismatches) console.log(`MISMATCH ${m}: destination differs from the source`);
  const record = {
    bench: 'moves',
    ...environmentInfo(),
    commit: commandLine('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']),
    files: summary.files,
    bytes: summary.bytes,
    runs: rows,
    load,
    versions: {
      rsync: commandLine('rsync', ['--version']),
      rclone: commandLine('rclone', ['version']),
    },
  };
  console.log(`RESULT ${JSON.stringify(record)}`);
  if (mismatches.length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(`moves bench: ${err.message}`);
  process.exit(1);
});
