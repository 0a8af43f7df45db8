// Issue 3 benchmark: concord mirror vs rsync, rclone, unison and cp on three generated trees
// (small files, large files, media), for the initial mirror, a no-op re-run, a re-run after
// edits, adds and deletes, and a --checksum no-op re-run. See bench/README.md.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  commandLine,
  concordCommand,
  createContentPool,
  createRng,
  createTrash,
  ensureGenerated,
  ensureTree,
  environmentInfo,
  formatBytes,
  formatTable,
  generateLargeTree,
  generateMediaTree,
  hasGnuTime,
  median,
  pickFileSize,
  rotate,
  summarizeTree,
  timeCommand,
  warmCache,
  warmContent,
  withTreeChanged,
  writePoolFile,
} from './lib.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
// --concord replaces it, e.g. with a copy of bin/ and bundle/ so that a rebuild does not change
// the CLI in the middle of a run.
let CONCORD_BIN = path.join(REPO, 'bin', 'concord.js');
const SEED = 1;
const MIB = 1024 * 1024;

const KINDS = ['small', 'large', 'media'];
// checksumFirst: the first --checksum run after the edits (concord's index has no hashes yet);
// checksum: the same command again, the "--checksum no-op re-run" of the issue's aims.
const SCENARIOS = ['initial', 'noop', 'edits', 'checksumFirst', 'checksum'];
const SCENARIO_LABELS = {
  initial: 'initial',
  noop: 'no-op',
  edits: 'edits',
  checksumFirst: 'csum 1st',
  checksum: 'csum no-op',
};
const GROWTH_SCENARIOS = ['initial', 'noop', 'checksumFirst', 'checksum'];

// rclone: --links copies symlinks as links and --create-empty-src-dirs creates empty
// directories, as rsync -a and concord do; --config /dev/null keeps any user config out.
const RCLONE_FLAGS = ['--links', '--create-empty-src-dirs', '--config', '/dev/null', '-q'];

// Per tool and scenario: (src, dst, ctx) => [cmd, args, env], or null when the tool has no such
// mode (cp only copies; unison has no checksum-only comparison). `initial` defaults to `mirror`.
const TOOLS = {
  // CONCORD_HOME: a private state directory (the index), new for every run like unison's.
  concord: {
    mirror: (src, dst, ctx) => [
      ...concordCommand(CONCORD_BIN, 'mirror', src, dst),
      { CONCORD_HOME: ctx.concordHome },
    ],
    checksum: (src, dst, ctx) => [
      ...concordCommand(CONCORD_BIN, 'mirror', src, dst, '--checksum'),
      { CONCORD_HOME: ctx.concordHome },
    ],
  },
  rsync: {
    mirror: (src, dst) => ['rsync', ['-a', '--delete', `${src}/`, `${dst}/`]],
    checksum: (src, dst) => ['rsync', ['-a', '--delete', '--checksum', `${src}/`, `${dst}/`]],
  },
  rclone: {
    // rclone reads with fadvise(DONTNEED): what it read leaves the page cache.
    dropsReadCache: true,
    mirror: (src, dst) => ['rclone', ['sync', src, dst, ...RCLONE_FLAGS]],
    checksum: (src, dst) => ['rclone', ['sync', src, dst, ...RCLONE_FLAGS, '--checksum']],
  },
  unison: {
    // -force SRC makes the source win every difference, deletions included: a mirror.
    mirror: (src, dst, ctx) => [
      'unison',
      [src, dst, '-batch', '-auto', '-times', '-force', src],
      { UNISON: ctx.unisonDir },
    ],
    checksum: null,
  },
  cp: {
    initial: (src, dst) => ['cp', ['-a', `${src}/.`, `${dst}/`]],
    mirror: null,
    checksum: null,
  },
};

const VERSION_COMMANDS = {
  concord: () => concordCommand(CONCORD_BIN, '--version'),
  rsync: () => ['rsync', ['--version']],
  rclone: () => ['rclone', ['version']],
  unison: () => ['unison', ['-version']],
  cp: () => ['cp', ['--version']],
};

const USAGE = `usage: node bench/index.mjs [--tree all|small,large,media] [--runs N] [--scale F]
       [--files 50000] [--dirs 2000] [--media-files 5000] [--large-files 8] [--large-mib 256]
       [--tools concord,rsync,rclone,unison,cp] [--memory-growth] [--growth-files 500000]
       [--data bench/.data] [--concord bin/concord.js] [--prepare] [--keep]`;

class BenchError extends Error {}

const fail = (message) => {
  throw new BenchError(message);
};

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        tree: { type: 'string', default: 'all' },
        runs: { type: 'string' },
        scale: { type: 'string', default: '1' },
        files: { type: 'string' },
        dirs: { type: 'string' },
        'media-files': { type: 'string' },
        'large-files': { type: 'string', default: '8' },
        'large-mib': { type: 'string' },
        tools: { type: 'string', default: Object.keys(TOOLS).join(',') },
        'memory-growth': { type: 'boolean', default: false },
        'growth-files': { type: 'string' },
        data: { type: 'string', default: path.join(REPO, 'bench', '.data') },
        concord: { type: 'string' },
        prepare: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    fail(`${err.message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const scale = Number(values.scale);
  if (!(scale > 0)) fail('--scale must be a positive number');
  // An explicit value wins; otherwise the issue's size times --scale, at least 1.
  const count = (name, base) => {
    if (values[name] == null) return Math.max(1, Math.round(base * scale));
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer`);
    return n;
  };
  const trees = values.tree === 'all' ? KINDS : values.tree.split(',').filter(Boolean);
  const badTree = trees.filter((t) => !KINDS.includes(t) && t !== 'none');
  if (badTree.length) fail(`--tree takes all, none or a subset of ${KINDS}`);
  const tools = values.tools.split(',').filter(Boolean);
  const unknown = tools.filter((t) => !(t in TOOLS));
  if (unknown.length || !tools.length) fail(`--tools takes a subset of ${Object.keys(TOOLS)}`);
  let runs = null;
  if (values.runs != null) {
    runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1) fail('--runs must be a positive integer');
  }
  const largeMib = values['large-mib'] == null ? 256 * scale : Number(values['large-mib']);
  if (!(largeMib > 0)) fail('--large-mib must be a positive number');
  const files = count('files', 50000);
  if (values.concord) CONCORD_BIN = path.resolve(values.concord);
  return {
    trees: trees.filter((t) => t !== 'none'),
    runs,
    scale,
    small: { files, dirs: count('dirs', 2000) },
    large: { count: count('large-files', 8), size: Math.max(1, Math.round(largeMib * MIB)) },
    media: { files: count('media-files', 5000), minSize: Math.round(MIB / 10), maxSize: 5 * MIB },
    tools,
    memoryGrowth: values['memory-growth'],
    growthFiles: values['growth-files'] == null ? files * 10 : count('growth-files', 0),
    data: path.resolve(values.data),
    prepare: values.prepare,
    keep: values.keep,
  };
}

function ensureKind(kind, spec, data) {
  if (kind === 'small') return ensureTree(data, { ...spec, seed: SEED });
  if (kind === 'large') {
    const { count, size } = spec;
    return ensureGenerated(
      data,
      `large-n${count}-b${size}-s${SEED}`,
      { generator: 'large-1', count, size, seed: SEED },
      (src) => generateLargeTree(src, { count, size, seed: SEED }),
    );
  }
  const { files, minSize, maxSize } = spec;
  return ensureGenerated(
    data,
    `media-f${files}-s${SEED}`,
    { generator: 'media-1', files, minSize, maxSize, seed: SEED },
    (src) => generateMediaTree(src, { files, minSize, maxSize, seed: SEED }),
  );
}

/** Relative paths of the files under root, in a stable order. */
function listFiles(root) {
  const files = [];
  const walk = (rel) => {
    const names = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of names) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) files.push(child);
    }
  };
  walk('');
  return files;
}

/** The issue's 100 edits + 50 adds + 50 deletes, fewer on small trees (8 large files: 2, 1, 1). */
function changeCounts(files) {
  const few = Math.max(1, Math.floor(files / 8));
  return {
    edits: Math.min(100, Math.floor(files / 4)),
    adds: Math.min(50, few),
    deletes: Math.min(50, few),
  };
}

/**
 * The same changes on every run: which files to edit and delete, where to add, and the sizes.
 * Half the edits keep the file's size, so that only the mtime tells them apart.
 */
function planChanges(kind, src, spec) {
  const rng = createRng(SEED + 1000);
  const files = listFiles(src);
  const counts = changeCounts(files.length);
  const picked = files.slice();
  for (let i = 0; i < counts.edits + counts.deletes; i++) {
    const j = rng.int(i, picked.length - 1);
    [picked[i], picked[j]] = [picked[j], picked[i]];
  }
  const parents = [...new Set(files.map((f) => path.dirname(f)).map((d) => (d === '.' ? '' : d)))];
  const newSize = (i, oldSize) => {
    if (kind === 'large' || i % 2 === 0) return oldSize;
    if (kind === 'small') return pickFileSize(rng);
    return rng.int(spec.minSize, spec.maxSize);
  };
  const edits = picked.slice(0, counts.edits).map((rel, i) => {
    const size = fs.statSync(path.join(src, rel)).size;
    return { rel, size: newSize(i, size) };
  });
  const deletes = picked.slice(counts.edits, counts.edits + counts.deletes);
  const adds = [];
  for (let i = 0; i < counts.adds; i++) {
    if (kind === 'large') adds.push({ rel: `added-${i}.bin`, size: spec.size });
    else if (kind === 'media') {
      const size = rng.int(spec.minSize, spec.maxSize);
      adds.push({ rel: path.join(rng.pick(parents), `IMG_added_${i}.jpg`), size });
    } else
      adds.push({ rel: path.join(rng.pick(parents), `added-${i}.txt`), size: pickFileSize(rng) });
  }
  const touchedDirs = new Set(
    [...edits.map((e) => e.rel), ...deletes, ...adds.map((a) => a.rel)].map((rel) => {
      const d = path.dirname(rel);
      return d === '.' ? '' : d;
    }),
  );
  return { kind, counts, edits, adds, deletes, touchedDirs: [...touchedDirs] };
}

/**
 * Applies the plan to the source and returns the undo. Originals are renamed into a backup
 * directory beside src (same file system) and renamed back, so they keep inode, mtime and mode;
 * the parent directories' mtimes are put back to the nanosecond with touch.
 */
function applyChanges(tree, plan) {
  const { src } = tree;
  const backup = path.join(tree.dir, 'edit-backup');
  fs.rmSync(backup, { recursive: true, force: true });
  fs.mkdirSync(backup);
  const dirTimes = plan.touchedDirs.map((d) => {
    const ns = fs.statSync(path.join(src, d), { bigint: true }).mtimeNs;
    return [d, `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`];
  });
  const rng = createRng(SEED + 2000);
  const pool = plan.kind === 'small' ? null : createContentPool(SEED + 3000, 16 * MIB);
  const write = (file, size, id) => {
    if (pool) writePoolFile(file, { pool, rng, size, id });
    else fs.writeFileSync(file, rng.bytes(size));
  };
  plan.deletes.forEach((rel, i) => {
    fs.renameSync(path.join(src, rel), path.join(backup, `d${i}`));
  });
  plan.edits.forEach(({ rel, size }, i) => {
    const file = path.join(src, rel);
    const original = path.join(backup, `e${i}`);
    fs.renameSync(file, original);
    if (plan.kind === 'large') {
      // A large file changes in place: 1 MiB somewhere inside it is rewritten.
      fs.copyFileSync(original, file);
      const len = Math.min(size, MIB);
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, rng.bytes(len), 0, len, rng.int(0, size - len));
      fs.closeSync(fd);
    } else {
      write(file, size, `edit-${i}`);
    }
  });
  plan.adds.forEach(({ rel, size }, i) => {
    write(path.join(src, rel), size, `added-${i}`);
  });
  spawnSync('sync');
  return () => {
    for (const { rel } of plan.adds) fs.rmSync(path.join(src, rel));
    plan.edits.forEach(({ rel }, i) => {
      fs.renameSync(path.join(backup, `e${i}`), path.join(src, rel));
    });
    plan.deletes.forEach((rel, i) => {
      fs.renameSync(path.join(backup, `d${i}`), path.join(src, rel));
    });
    for (const [d, stamp] of dirTimes) {
      const out = spawnSync('touch', ['-m', '-d', stamp, '--', path.join(src, d)]);
      if (out.status !== 0) throw new Error(`touch failed on ${path.join(src, d)}`);
    }
    fs.rmSync(backup, { recursive: true, force: true });
    spawnSync('sync');
  };
}

function sameContent(a, b) {
  if (fs.statSync(a).size !== fs.statSync(b).size) return false;
  const [fa, fb] = [fs.openSync(a, 'r'), fs.openSync(b, 'r')];
  try {
    const [ba, bb] = [Buffer.alloc(4 * MIB), Buffer.alloc(4 * MIB)];
    for (;;) {
      const na = fs.readSync(fa, ba, 0, ba.length, null);
      const nb = fs.readSync(fb, bb, 0, bb.length, null);
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
      if (na === 0) return true;
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

/** Problems found in dst, [] when it matches: file, directory and byte counts, and the changes. */
function checkDestination(src, dst, expected, plan) {
  const problems = [];
  const got = summarizeTree(dst, { exclude: ['.concord'] });
  for (const key of ['files', 'dirs', 'bytes']) {
    if (got[key] !== expected[key]) {
      problems.push(`${key}: source ${expected[key]}, destination ${got[key]}`);
    }
  }
  if (plan) {
    for (const { rel } of [...plan.edits, ...plan.adds]) {
      const target = path.join(dst, rel);
      if (!fs.existsSync(target)) problems.push(`${rel}: missing`);
      else if (!sameContent(path.join(src, rel), target)) problems.push(`${rel}: differs`);
    }
    for (const rel of plan.deletes) {
      if (fs.existsSync(path.join(dst, rel))) problems.push(`${rel}: not deleted`);
    }
  }
  return problems;
}

function commandFor(tool, scenario, src, dst, ctx) {
  const spec = TOOLS[tool];
  const make =
    scenario === 'checksum' || scenario === 'checksumFirst'
      ? spec.checksum
      : scenario === 'initial'
        ? (spec.initial ?? spec.mirror)
        : spec.mirror;
  return make ? make(src, dst, ctx) : null;
}

async function measure(tool, scenario, src, dst, ctx) {
  const [cmd, args, env] = commandFor(tool, scenario, src, dst, ctx);
  const result = await timeCommand(cmd, args, { env });
  // Untimed: flush what the tool wrote, so the next tool does not pay for its writeback, and
  // read the source back into the cache if the tool dropped it (the next tool should not pay).
  spawnSync('sync');
  if (TOOLS[tool].dropsReadCache && scenario !== 'noop') warmContent(src);
  if (result.code !== 0) {
    process.stderr.write(result.stderr.slice(-4000));
    fail(
      `${tool} ${scenario} failed (exit ${result.code ?? result.signal}): ${cmd} ${args.join(' ')}`,
    );
  }
  return result;
}

function freeBytes(dir) {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

/**
 * Trash directories by tree kind, so that making room deletes the few large files of the large
 * and media trees before the many small ones (on ext4 many recent deletions slow file creation).
 */
function createTrashes(data) {
  const order = ['large', 'media', 'small', 'growth'];
  const trashes = Object.fromEntries(
    order.map((k) => [k, createTrash(path.join(data, 'trash', k))]),
  );
  return {
    of: (kind) => trashes[kind],
    makeRoom(need) {
      for (const kind of order) {
        if (freeBytes(data) >= need) return;
        const dir = path.join(data, 'trash', kind);
        if (!fs.existsSync(dir) || fs.readdirSync(dir).length === 0) continue;
        console.error(`making room: deleting the ${kind} trash (untimed)`);
        trashes[kind].empty();
        spawnSync('sync');
      }
    },
    emptyAll() {
      for (const kind of order) trashes[kind].empty();
    },
  };
}

async function benchTree(kind, opts, trashes, log) {
  const spec = opts[kind];
  const runs = opts.runs ?? (kind === 'small' ? 3 : 1);
  const started = Date.now();
  const tree = ensureKind(kind, spec, opts.data);
  const took = ((Date.now() - started) / 1000).toFixed(1);
  log(`${kind}: source ${tree.src} (${tree.reused ? 'reused' : 'generated'} in ${took}s)`);
  const srcSummary = summarizeTree(tree.src);
  const plan = planChanges(kind, tree.src, spec);
  const trash = trashes.of(kind);
  const dstRoot = path.join(opts.data, 'dst', kind);
  const dstOf = (tool) => path.join(dstRoot, tool);
  const stateDir = path.join(opts.data, 'state', kind);
  const ctx = {
    unisonDir: path.join(stateDir, 'unison'),
    concordHome: path.join(stateDir, 'concord'),
  };
  trash.retire(dstRoot);
  trash.retire(stateDir);

  const samples = Object.fromEntries(
    opts.tools.map((t) => [t, Object.fromEntries(SCENARIOS.map((s) => [s, { s: [], kib: [] }]))]),
  );
  const problems = [];
  const notes = [];
  const record = (tool, scenario, r, run) => {
    samples[tool][scenario].s.push(r.seconds);
    samples[tool][scenario].kib.push(r.peakKiB);
    const mb = r.peakKiB == null ? '' : `, ${(r.peakKiB / 1024).toFixed(1)} MB`;
    log(
      `${kind} run ${run + 1}/${runs} ${SCENARIO_LABELS[scenario]} ${tool}: ${r.seconds.toFixed(2)}s${mb}`,
    );
  };
  const check = (tool, scenario, expected, withPlan) => {
    const found = checkDestination(tree.src, dstOf(tool), expected, withPlan ? plan : null);
    for (const p of found.slice(0, 10)) problems.push(`${tool} after ${scenario}: ${p}`);
    if (found.length)
      log(`MISMATCH ${kind} ${tool} after ${scenario}: ${found.slice(0, 3).join('; ')}`);
  };
  const dstTools = opts.tools;
  const margin = 2 * 1024 * MIB;

  for (let run = 0; run < runs; run++) {
    const order = rotate(opts.tools, run);
    for (const tool of opts.tools) trash.retire(dstOf(tool));
    trash.retire(stateDir);
    fs.mkdirSync(ctx.unisonDir, { recursive: true });
    fs.mkdirSync(ctx.concordHome, { recursive: true });
    // Every destination at once, unless the disk is short: then cp copies first, and its copy
    // is deleted right after its timing, before the other tools write theirs.
    const need = (n) => n * srcSummary.bytes * 1.02 + margin;
    trashes.makeRoom(need(dstTools.length));
    let dropCp = false;
    if (freeBytes(opts.data) < need(dstTools.length)) {
      if (!opts.tools.includes('cp') || freeBytes(opts.data) < need(dstTools.length - 1)) {
        fail(`not enough disk under ${opts.data}: ${formatBytes(need(dstTools.length))} needed`);
      }
      dropCp = true;
      const note = 'for disk space, cp copied first and its copy was deleted after its timing';
      if (!notes.includes(note)) notes.push(note);
    }
    warmCache(tree.src);
    warmContent(tree.src);

    const initialOrder = dropCp ? ['cp', ...order.filter((t) => t !== 'cp')] : order;
    for (const tool of initialOrder) {
      const dst = dstOf(tool);
      fs.mkdirSync(dst, { recursive: true });
      record(tool, 'initial', await measure(tool, 'initial', tree.src, dst, ctx), run);
      check(tool, 'initial', srcSummary, false);
      if (tool === 'cp' && dropCp) {
        fs.rmSync(dst, { recursive: true, force: true });
        spawnSync('sync');
      }
    }
    const mirrors = order.filter((t) => TOOLS[t].mirror);
    for (const tool of mirrors) {
      record(tool, 'noop', await measure(tool, 'noop', tree.src, dstOf(tool), ctx), run);
    }
    // One change of the source; every tool then brings its own synced copy up to date.
    await withTreeChanged(
      tree,
      () => applyChanges(tree, plan),
      async () => {
        const changed = summarizeTree(tree.src);
        for (const tool of mirrors) {
          record(tool, 'edits', await measure(tool, 'edits', tree.src, dstOf(tool), ctx), run);
        }
        for (const scenario of ['checksumFirst', 'checksum']) {
          for (const tool of order.filter((t) => TOOLS[t].checksum)) {
            const r = await measure(tool, scenario, tree.src, dstOf(tool), ctx);
            record(tool, scenario, r, run);
          }
        }
        for (const tool of mirrors) check(tool, 'edits', changed, true);
      },
    );
  }
  const restored = summarizeTree(tree.src);
  if (['files', 'dirs', 'bytes'].some((k) => restored[k] !== srcSummary[k])) {
    fail(`${kind} source not restored after the changes: ${JSON.stringify(restored)}`);
  }
  if (!opts.keep) trash.retire(dstRoot);

  const results = {};
  for (const tool of opts.tools) {
    results[tool] = {};
    for (const scenario of SCENARIOS) {
      const s = samples[tool][scenario];
      results[tool][scenario] = s.s.length
        ? { s: median(s.s), peakKiB: median(s.kib), runsS: s.s, runsPeakKiB: s.kib }
        : null;
    }
    const init = results[tool].initial;
    results[tool].initialMiBps = init ? srcSummary.bytes / MIB / init.s : null;
  }
  return { kind, spec, summary: srcSummary, runs, changes: plan.counts, results, problems, notes };
}

const ratio = (a, b) => (a == null || b == null ? null : a / b);
const sOf = (results, tool, scenario) => results[tool]?.[scenario]?.s ?? null;

/** The figures issue 3 sets aims for, with the aim where it applies to this tree. */
function aimsFor(tree) {
  const r = tree.results;
  const concordPeaks = SCENARIOS.map((s) => r.concord?.[s]?.peakKiB).filter((v) => v != null);
  const peakMB = concordPeaks.length ? Math.max(...concordPeaks) / 1024 : null;
  const small = tree.kind === 'small';
  const large = tree.kind === 'large';
  const rows = [
    [
      'no-op concord/rsync',
      ratio(sOf(r, 'concord', 'noop'), sOf(r, 'rsync', 'noop')),
      small ? ['<=', 0.6] : null,
    ],
    [
      'checksum no-op / no-op (concord)',
      ratio(sOf(r, 'concord', 'checksum'), sOf(r, 'concord', 'noop')),
      small ? ['<=', 1.2] : null,
    ],
    [
      'checksum no-op concord/rsync',
      ratio(sOf(r, 'concord', 'checksum'), sOf(r, 'rsync', 'checksum')),
      small ? ['<=', 0.1] : null,
    ],
    [
      'initial concord/rsync',
      ratio(sOf(r, 'concord', 'initial'), sOf(r, 'rsync', 'initial')),
      ['<=', 1.0],
    ],
    [
      'throughput concord/cp',
      ratio(r.concord?.initialMiBps, r.cp?.initialMiBps),
      large ? ['>=', 0.9] : null,
    ],
    ['peak MB concord (max)', peakMB, small ? ['<', 150] : null],
  ];
  return rows.map(([name, value, aim]) => ({
    name,
    value,
    aim: aim
      ? `${aim[0]} ${aim[1] < 10 ? aim[1].toFixed(1) : aim[1]}${name.startsWith('peak') ? ' MB' : 'x'}`
      : null,
    met:
      aim && value != null
        ? aim[0] === '<='
          ? value <= aim[1]
          : aim[0] === '<'
            ? value < aim[1]
            : value >= aim[1]
        : null,
  }));
}

const sec = (s) => (s == null ? null : s.toFixed(2));
const mb = (kib) => (kib == null ? null : (kib / 1024).toFixed(1));
const x = (v) => (v == null ? null : `${v.toFixed(2)}x`);

function printTree(tree) {
  const { summary, results, spec } = tree;
  const scaled =
    tree.kind === 'large' ? `${spec.count} x ${formatBytes(spec.size)}` : `${summary.files} files`;
  console.log(
    `${tree.kind} tree: ${scaled}, ${summary.dirs} dirs, ${formatBytes(summary.bytes)}; median of ${tree.runs} run(s); ` +
      `changes: ${tree.changes.edits} edits, ${tree.changes.adds} adds, ${tree.changes.deletes} deletes`,
  );
  const header = ['tool'];
  for (const s of SCENARIOS) header.push(`${SCENARIO_LABELS[s]} s`, 'MB');
  header.push('MiB/s');
  const rows = Object.entries(results).map(([tool, r]) => [
    tool,
    ...SCENARIOS.flatMap((s) => [sec(r[s]?.s), mb(r[s]?.peakKiB)]),
    r.initialMiBps == null ? null : r.initialMiBps.toFixed(0),
  ]);
  const c = results.concord;
  if (c) {
    for (const [peer, r] of Object.entries(results)) {
      if (peer === 'concord') continue;
      rows.push([
        `concord/${peer}`,
        ...SCENARIOS.flatMap((s) => [
          x(ratio(c[s]?.s, r[s]?.s)),
          x(ratio(c[s]?.peakKiB, r[s]?.peakKiB)),
        ]),
        x(ratio(c.initialMiBps, r.initialMiBps)),
      ]);
    }
  }
  console.log(formatTable(header, rows));
  console.log();
  const aims = aimsFor(tree);
  console.log(
    formatTable(
      ['figure', 'value', 'aim', 'met'],
      aims.map((a) => [
        a.name,
        a.value == null ? null : a.name.startsWith('peak') ? a.value.toFixed(1) : x(a.value),
        a.aim ?? '',
        a.met == null ? '' : a.met ? 'yes' : 'no',
      ]),
    ),
  );
  for (const note of tree.notes) console.log(`note: ${note}`);
  for (const p of tree.problems) console.log(`MISMATCH ${p}`);
  console.log();
  return aims;
}

/** Concord's peak memory at the small tree's size and at --growth-files (10x by default). */
async function memoryGrowth(opts, trashes, log) {
  const perDir = opts.small.files / opts.small.dirs;
  const points = [opts.small.files, opts.growthFiles].map((files) => ({
    files,
    dirs: Math.max(1, Math.round(files / perDir)),
  }));
  const trash = trashes.of('growth');
  const out = [];
  for (const point of points) {
    const started = Date.now();
    const tree = ensureTree(opts.data, { ...point, seed: SEED });
    const took = ((Date.now() - started) / 1000).toFixed(1);
    log(`growth: source ${tree.src} (${tree.reused ? 'reused' : 'generated'} in ${took}s)`);
    const summary = summarizeTree(tree.src);
    const dst = path.join(opts.data, 'dst', 'growth', String(point.files));
    const concordHome = path.join(opts.data, 'state', 'growth', String(point.files));
    trash.retire(dst);
    trash.retire(concordHome);
    fs.mkdirSync(concordHome, { recursive: true });
    trashes.makeRoom(summary.bytes * 1.02 + 2 * 1024 * MIB);
    warmCache(tree.src);
    warmContent(tree.src);
    fs.mkdirSync(dst, { recursive: true });
    const row = { ...point, bytes: summary.bytes };
    for (const scenario of GROWTH_SCENARIOS) {
      const r = await measure('concord', scenario, tree.src, dst, { concordHome });
      row[scenario] = { s: r.seconds, peakKiB: r.peakKiB };
      log(
        `growth ${point.files} ${SCENARIO_LABELS[scenario]}: ${r.seconds.toFixed(2)}s, ${mb(r.peakKiB)} MB`,
      );
      if (scenario === 'initial') {
        const found = checkDestination(tree.src, dst, summary, null);
        if (found.length) log(`MISMATCH growth ${point.files}: ${found.join('; ')}`);
        row.problems = found;
      }
    }
    if (!opts.keep) {
      trash.retire(dst);
      trash.retire(concordHome);
    }
    out.push(row);
  }
  const [a, b] = out;
  const growth = {};
  for (const s of GROWTH_SCENARIOS) {
    const [ka, kb] = [a[s].peakKiB, b[s].peakKiB];
    growth[s] = {
      timeRatio: ratio(b[s].s, a[s].s),
      peakRatio: ratio(kb, ka),
      bytesPerFile: ka == null || kb == null ? null : ((kb - ka) * 1024) / (b.files - a.files),
    };
  }
  return { filesPerDir: perDir, points: out, growth };
}

function printGrowth({ filesPerDir, points, growth }) {
  const kinds = GROWTH_SCENARIOS;
  const header = ['files', 'dirs', ...kinds.flatMap((s) => [`${SCENARIO_LABELS[s]} s`, 'MB'])];
  const rows = points.map((p) => [
    p.files,
    p.dirs,
    ...kinds.flatMap((s) => [sec(p[s].s), mb(p[s].peakKiB)]),
  ]);
  const [a, b] = points;
  rows.push([
    `${b.files}/${a.files}`,
    '',
    ...kinds.flatMap((s) => [x(growth[s].timeRatio), x(growth[s].peakRatio)]),
  ]);
  console.log(
    `memory growth: concord alone, ${filesPerDir.toFixed(0)} files per directory, one run each`,
  );
  console.log(formatTable(header, rows));
  const perFile = (s) => {
    const v = growth[s].bytesPerFile;
    return `${SCENARIO_LABELS[s]} ${v == null ? 'n/a' : `${(v / 1024).toFixed(2)} KiB`}`;
  };
  console.log(`peak memory per added file: ${kinds.map(perFile).join(', ')}`);
  console.log();
}

async function main() {
  const opts = parseOptions();
  if (!hasGnuTime()) {
    console.error('note: /usr/bin/time not found (apt-get install time); peak MB is n/a');
  }
  if (opts.prepare) {
    // Only generate (or check) the cached trees, e.g. ahead of a timed run on a quiet machine.
    for (const kind of opts.trees) {
      const started = Date.now();
      const tree = ensureKind(kind, opts[kind], opts.data);
      const took = ((Date.now() - started) / 1000).toFixed(1);
      console.error(`${kind}: ${tree.src} (${tree.reused ? 'reused' : 'generated'} in ${took}s)`);
    }
    return;
  }
  const needed = opts.memoryGrowth ? [...new Set([...opts.tools, 'concord'])] : opts.tools;
  const versions = {};
  for (const tool of needed) {
    const [cmd, args] = VERSION_COMMANDS[tool]();
    versions[tool] = commandLine(cmd, args);
    if (!versions[tool]) {
      fail(
        tool === 'concord'
          ? `${CONCORD_BIN} --version failed: run npm run build, or pass --tools`
          : `${tool} not found: apt-get install ${tool === 'cp' ? 'coreutils' : tool}, or pass --tools`,
      );
    }
  }
  fs.mkdirSync(opts.data, { recursive: true });
  const log = (line) => console.error(line);
  const trashes = createTrashes(opts.data);
  const env = environmentInfo();
  const commit = commandLine('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']);

  // Other work on the machine skews every figure; the load averages show whether there was any.
  const load = () =>
    os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ');
  const loadBefore = load();
  console.log(`index benchmark (issue 3)  ${env.date}`);
  console.log(`nproc ${env.nproc}, node ${env.node}, ${env.kernel}, ${env.cpu}`);
  if (env.removedEnv.length > 0) console.log(`tools run without ${env.removedEnv.join(', ')}`);
  // With --concord the CLI may be a build of another commit than the repository's HEAD.
  console.log(`concord ${versions.concord ?? 'n/a'} (${CONCORD_BIN}; repository HEAD ${commit})`);
  for (const tool of needed.filter((t) => t !== 'concord')) console.log(versions[tool]);
  console.log(`rclone flags: ${RCLONE_FLAGS.join(' ')}; unison: -batch -auto -times -force SRC`);
  console.log(
    'times in seconds, peak MB = max RSS of the largest process (GNU time); n/a: no such mode',
  );
  console.log();
  // Each tree's table as soon as it is done, so a failure later does not lose it.
  const treeRecords = {};
  for (const kind of opts.trees) {
    const tree = await benchTree(kind, opts, trashes, log);
    treeRecords[kind] = { ...tree, aims: printTree(tree) };
  }
  const growth = opts.memoryGrowth ? await memoryGrowth(opts, trashes, log) : null;
  if (growth) printGrowth(growth);
  const loadAfter = load();
  console.log(`load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadAfter}`);
  const record = {
    bench: 'index',
    ...env,
    versions,
    commit,
    concordBin: CONCORD_BIN,
    loadBefore,
    loadAfter,
    rcloneFlags: RCLONE_FLAGS,
    trees: treeRecords,
    growth,
  };
  console.log(`RESULT ${JSON.stringify(record)}`);
  console.error('removing old destinations...');
  trashes.emptyAll();
  if (!opts.keep) fs.rmSync(path.join(opts.data, 'state'), { recursive: true, force: true });
}

try {
  await main();
} catch (err) {
  if (!(err instanceof BenchError)) throw err;
  console.error(`index bench: ${err.message}`);
  process.exit(1);
}
