// Two-way benchmark: concord sync vs unison and rclone bisync on the 50,000-file tree, for the
// first sync (A full, B empty), a no-op re-sync, and a re-sync after 100 edits + 50 adds + 50
// deletes split across both sides. See bench/README.md.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  commandLine,
  concordCommand,
  createRng,
  createTrash,
  ensureTree,
  environmentInfo,
  formatBytes,
  formatTable,
  hasGnuTime,
  median,
  pickFileSize,
  rotate,
  timeCommand,
} from './lib.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
// --concord replaces it, e.g. with a copy of bin/ and bundle/ so that a rebuild during the run does
// not change what is timed.
let CONCORD_BIN = path.join(REPO, 'bin', 'concord.js');
// The tree of bench/index.mjs's 'small' kind: same parameters, so the cached copy is reused.
const SEED = 1;
const EDIT_SEED = SEED + 7000;
// Per side: A and B each get this many, on disjoint paths (the 100 + 50 + 50 in all).
const PER_SIDE = { edits: 50, adds: 25, deletes: 25 };

const SCENARIOS = ['first', 'noop', 'edits'];
const LABELS = { first: 'first', noop: 'no-op', edits: 'edits' };

// --config /dev/null keeps any user config out; bisync's listings go to the private --workdir.
const RCLONE_FLAGS = ['--config', '/dev/null', '-q'];
const UNISON_FLAGS = ['-ui', 'text', '-batch', '-auto', '-times', '-silent'];

// Per tool: the command for a scenario, given the pair's absolute paths and the run's private
// state directory (a fresh one every run, so the first sync really is a first sync).
const TOOLS = {
  concord: {
    version: () => concordCommand(CONCORD_BIN, '--version'),
    // Two-way is sync's default mode; the first sync and the re-syncs are the same command.
    command: (_scenario, a, b, state) => [
      ...concordCommand(CONCORD_BIN, 'sync', a, b),
      { CONCORD_HOME: state },
    ],
  },
  unison: {
    version: () => ['unison', ['-version']],
    command: (_scenario, a, b, state) => ['unison', [a, b, ...UNISON_FLAGS], { UNISON: state }],
  },
  rclone: {
    version: () => ['rclone', ['version']],
    // bisync starts from a --resync run, which builds its listings; later runs compare to them.
    command: (scenario, a, b, state) => [
      'rclone',
      [
        'bisync',
        a,
        b,
        ...(scenario === 'first' ? ['--resync'] : []),
        '--workdir',
        state,
        ...RCLONE_FLAGS,
      ],
    ],
  },
};

// Never compared: concord's per-root folder and rclone's --check-access marker. unison and rclone
// keep their state outside the roots ($UNISON, --workdir); a temp file left in a root is a
// difference.
const IGNORED = new Set(['.concord', 'RCLONE_TEST']);

const USAGE = `usage: node bench/twoway.mjs [--runs N] [--tools concord,unison,rclone]
       [--concord bin/concord.js] [--work bench/.data/twoway] [--data bench/.data]
       [--files 50000] [--dirs 2000] [--keep]`;

class BenchError extends Error {}

const fail = (message) => {
  throw new BenchError(message);
};

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        runs: { type: 'string', default: '3' },
        tools: { type: 'string' },
        // The issue says --tool; both spellings work.
        tool: { type: 'string' },
        concord: { type: 'string' },
        data: { type: 'string', default: path.join(REPO, 'bench', '.data') },
        work: { type: 'string' },
        files: { type: 'string', default: '50000' },
        dirs: { type: 'string', default: '2000' },
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
  const int = (name, min) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}`);
    return n;
  };
  const tools = (values.tools ?? values.tool ?? Object.keys(TOOLS).join(','))
    .split(',')
    .filter(Boolean);
  const unknown = tools.filter((t) => !(t in TOOLS));
  if (unknown.length || !tools.length) fail(`--tools takes a subset of ${Object.keys(TOOLS)}`);
  if (values.concord) CONCORD_BIN = path.resolve(values.concord);
  const data = path.resolve(values.data);
  return {
    runs: int('runs', 1),
    tools: [...new Set(tools)],
    data,
    // Pairs live on the same disk as the cached tree by default, so cp -a is a plain copy.
    work: path.resolve(values.work ?? path.join(data, 'twoway')),
    // Enough files that 150 distinct non-empty ones can be picked for edits and deletes.
    files: int('files', 1000),
    dirs: int('dirs', 1),
    keep: values.keep,
  };
}

/** Files (relative path -> size) and directories under root, without the IGNORED names. */
function walkTree(root) {
  const files = new Map();
  const dirs = new Set();
  const walk = (rel) => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      if (IGNORED.has(entry.name)) continue;
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        dirs.add(child);
        walk(child);
      } else {
        // Symlinks and other kinds count as files with size -1, so they show as differences.
        files.set(child, entry.isFile() ? fs.lstatSync(path.join(root, child)).size : -1);
      }
    }
  };
  walk('');
  return { files, dirs };
}

/**
 * The change set, the same for every tool and run: which files each side edits and deletes,
 * which it adds, and their new contents (kept in memory, about 1 MB). Edits only touch non-empty
 * files, so that a same-size rewrite changes the content and not only the mtime.
 */
function planEdits(base) {
  const rng = createRng(EDIT_SEED);
  const pool = [...base.files.keys()].sort();
  let taken = 0;
  // Partial Fisher-Yates: each call returns a new, distinct path.
  const take = () => {
    const j = rng.int(taken, pool.length - 1);
    [pool[taken], pool[j]] = [pool[j], pool[taken]];
    return pool[taken++];
  };
  const editPaths = [];
  const deletePaths = [];
  const want = { edits: 2 * PER_SIDE.edits, deletes: 2 * PER_SIDE.deletes };
  while (editPaths.length < want.edits) {
    const rel = take();
    if (base.files.get(rel) > 0) editPaths.push(rel);
    else if (deletePaths.length < want.deletes) deletePaths.push(rel);
  }
  while (deletePaths.length < want.deletes) deletePaths.push(take());
  const parents = [...new Set(pool.map((rel) => path.posix.dirname(rel)))].sort();
  const sides = {
    a: { edits: [], adds: [], deletes: [] },
    b: { edits: [], adds: [], deletes: [] },
  };
  editPaths.forEach((rel, i) => {
    const side = i % 2 === 0 ? 'a' : 'b';
    const old = base.files.get(rel);
    // Every other edit on each side keeps the size; the others get a new, different size.
    let size = old;
    if (Math.floor(i / 2) % 2 === 1) {
      size = pickFileSize(rng);
      if (size === old) size++;
    }
    sides[side].edits.push({ rel, content: rng.bytes(size) });
  });
  deletePaths.forEach((rel, i) => {
    sides[i % 2 === 0 ? 'a' : 'b'].deletes.push(rel);
  });
  for (const side of ['a', 'b']) {
    for (let i = 0; i < PER_SIDE.adds; i++) {
      const parent = rng.pick(parents);
      const rel = parent === '.' ? `added-${side}-${i}.txt` : `${parent}/added-${side}-${i}.txt`;
      sides[side].adds.push({ rel, content: rng.bytes(pickFileSize(rng)) });
    }
  }
  // What both roots must hold after the re-sync.
  const expected = new Map(base.files);
  for (const s of Object.values(sides)) {
    for (const { rel, content } of [...s.edits, ...s.adds]) expected.set(rel, content.length);
    for (const rel of s.deletes) expected.delete(rel);
  }
  return { sides, expected, dirs: base.dirs };
}

/** Applies each side's share of the change set to the pair (untimed). */
function applyEdits(pair, plan) {
  for (const side of ['a', 'b']) {
    const root = pair[side];
    const s = plan.sides[side];
    for (const { rel, content } of [...s.edits, ...s.adds]) {
      fs.writeFileSync(path.join(root, rel), content);
    }
    for (const rel of s.deletes) fs.rmSync(path.join(root, rel));
  }
}

/** Differences between a root and the expected files and directories. */
function compareTree(root, expectedFiles, expectedDirs) {
  const got = walkTree(root);
  const problems = [];
  const add = (p) => problems.push(p);
  for (const [rel, size] of expectedFiles) {
    if (!got.files.has(rel)) add(`${rel}: missing`);
    else if (got.files.get(rel) !== size) add(`${rel}: size ${got.files.get(rel)}, want ${size}`);
  }
  for (const rel of got.files.keys()) if (!expectedFiles.has(rel)) add(`${rel}: unexpected`);
  for (const rel of expectedDirs) if (!got.dirs.has(rel)) add(`${rel}/: missing directory`);
  for (const rel of got.dirs) if (!expectedDirs.has(rel)) add(`${rel}/: unexpected directory`);
  return problems;
}

/**
 * After the edit re-sync: both roots hold exactly the expected file list and sizes, every edit
 * and add from either side has its new content on both sides, and every delete is gone from both.
 */
function verifyEdits(pair, plan) {
  const problems = [];
  for (const side of ['a', 'b']) {
    const root = pair[side];
    for (const p of compareTree(root, plan.expected, plan.dirs)) problems.push(`${side}: ${p}`);
    for (const from of ['a', 'b']) {
      const s = plan.sides[from];
      for (const { rel, content } of [...s.edits, ...s.adds]) {
        const file = path.join(root, rel);
        if (fs.existsSync(file) && !fs.readFileSync(file).equals(content)) {
          problems.push(`${side}: ${rel} (changed on ${from}): content differs`);
        }
      }
      for (const rel of s.deletes) {
        if (fs.existsSync(path.join(root, rel))) {
          problems.push(`${side}: ${rel} (deleted on ${from}): still there`);
        }
      }
    }
  }
  return problems;
}

function freeBytes(dir) {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

async function benchTools(opts, tree, base, plan, available, log) {
  const pairsDir = path.join(opts.work, 'pairs');
  const stateDir = path.join(opts.work, 'state');
  // Old pairs are moved aside and deleted only after the timings: on ext4 without a journal,
  // creating files soon after deleting many is much slower (see the mirror section).
  const trash = createTrash(path.join(opts.work, 'trash'));
  const samples = Object.fromEntries(
    opts.tools.map((t) => [t, Object.fromEntries(SCENARIOS.map((s) => [s, { s: [], kib: [] }]))]),
  );
  const failures = [];
  const mismatches = [];
  const tools = opts.tools.filter((t) => available[t]);
  for (let run = 0; run < opts.runs; run++) {
    // Rotated, so that no tool always runs right after the same other tool.
    for (const tool of rotate(tools, run)) {
      const tag = `run ${run + 1}/${opts.runs} ${tool}`;
      const pair = { a: path.join(pairsDir, tool, 'a'), b: path.join(pairsDir, tool, 'b') };
      const state = path.join(stateDir, tool);
      trash.retire(path.join(pairsDir, tool));
      trash.retire(state);
      fs.mkdirSync(path.dirname(pair.a), { recursive: true });
      fs.mkdirSync(state, { recursive: true });
      // A: a plain copy of the tree (cp -a makes no hard links); B: empty. Untimed, and flushed,
      // so that the first sync does not pay for the copy's writeback.
      const cp = spawnSync('cp', ['-a', tree.src, pair.a], { encoding: 'utf8' });
      if (cp.status !== 0) fail(`cp -a ${tree.src} ${pair.a} failed: ${cp.stderr}`);
      fs.mkdirSync(pair.b);
      spawnSync('sync');
      let ok = true;
      for (const scenario of SCENARIOS) {
        if (scenario === 'edits') {
          applyEdits(pair, plan);
          spawnSync('sync');
        }
        const [cmd, args, env] = TOOLS[tool].command(scenario, pair.a, pair.b, state);
        const r = await timeCommand(cmd, args, { env });
        // Untimed: flush what the tool wrote, so that its writeback is not paid by the next step.
        spawnSync('sync');
        if (r.code !== 0) {
          // Report and go on with the next tool: the others' figures are still worth having.
          const exit = r.code ?? r.signal;
          const stderr = r.stderr.trim().slice(-4000);
          failures.push({ tool, run: run + 1, scenario, exit, command: [cmd, ...args], stderr });
          log(`FAILED ${tag} ${LABELS[scenario]}: exit ${exit}: ${cmd} ${args.join(' ')}`);
          if (stderr) log(stderr.replace(/^/gm, '  | '));
          ok = false;
          break;
        }
        samples[tool][scenario].s.push(r.seconds);
        samples[tool][scenario].kib.push(r.peakKiB);
        const mb = r.peakKiB == null ? '' : `, ${(r.peakKiB / 1024).toFixed(1)} MB`;
        log(`${tag} ${LABELS[scenario]}: ${r.seconds.toFixed(2)}s${mb}`);
        if (scenario === 'first') {
          // Both roots must hold the tree as generated (list, sizes, directories).
          const found = ['a', 'b'].flatMap((side) =>
            compareTree(pair[side], base.files, base.dirs).map((p) => `${side}: ${p}`),
          );
          if (found.length) {
            mismatches.push({
              tool,
              run: run + 1,
              scenario,
              count: found.length,
              problems: found.slice(0, 20),
            });
            log(
              `MISMATCH ${tag} after first sync (${found.length}): ${found.slice(0, 5).join('; ')}`,
            );
            // The edits assume both roots hold the tree; this run of the tool stops here.
            ok = false;
            break;
          }
        }
      }
      if (ok) {
        const found = verifyEdits(pair, plan);
        if (found.length) {
          const problems = found.slice(0, 20);
          mismatches.push({ tool, run: run + 1, scenario: 'edits', count: found.length, problems });
          log(
            `MISMATCH ${tag} after edit re-sync (${found.length}): ${problems.slice(0, 5).join('; ')}`,
          );
        } else {
          log(`${tag}: A and B identical after the edits, every change on both sides`);
        }
      }
    }
  }
  // --keep leaves the last run's pairs and state for inspection.
  if (!opts.keep) {
    trash.retire(pairsDir);
    trash.retire(stateDir);
  }
  const results = {};
  for (const tool of opts.tools) {
    results[tool] = {};
    for (const scenario of SCENARIOS) {
      const s = samples[tool][scenario];
      results[tool][scenario] = s.s.length
        ? { s: median(s.s), peakKiB: median(s.kib), runsS: s.s, runsPeakKiB: s.kib }
        : null;
    }
  }
  return { results, failures, mismatches, trash };
}

const ratio = (a, b) => (a == null || b == null ? null : a / b);
const sec = (s) => (s == null ? null : s.toFixed(2));
const mbOf = (kib) => (kib == null ? null : (kib / 1024).toFixed(1));
const x = (v) => (v == null ? null : `${v.toFixed(2)}x`);

/** The aims, each with its value (null when concord or unison has no figure). */
function aims(results) {
  const c = results.concord;
  const u = results.unison;
  const peaks = SCENARIOS.map((s) => c?.[s]?.peakKiB).filter((v) => v != null);
  const rows = [
    ['no-op concord/unison', ratio(c?.noop?.s, u?.noop?.s), '<=', 0.5, 'x'],
    ['edits concord/unison', ratio(c?.edits?.s, u?.edits?.s), '<=', 0.7, 'x'],
    // Only when all three scenarios have a figure, so that a failure is not read as a low peak.
    ['peak MB concord (max)', peaks.length === 3 ? Math.max(...peaks) / 1024 : null, '<', 150, ''],
  ];
  return rows.map(([name, value, op, limit, unit]) => ({
    name,
    value,
    aim: `${op} ${limit}${unit || ' MB'}`,
    met: value == null ? null : op === '<=' ? value <= limit : value < limit,
  }));
}

function printResults(results, failures) {
  const header = ['tool', ...SCENARIOS.flatMap((s) => [`${LABELS[s]} s`, 'MB'])];
  const failed = (tool, s) => failures.some((f) => f.tool === tool && f.scenario === s);
  const rows = Object.entries(results).map(([tool, r]) => [
    tool,
    ...SCENARIOS.flatMap((s) =>
      r[s] ? [sec(r[s].s), mbOf(r[s].peakKiB)] : failed(tool, s) ? ['failed', ''] : [null, null],
    ),
  ]);
  const c = results.concord;
  if (c) {
    for (const peer of ['unison', 'rclone']) {
      const p = results[peer];
      if (!p) continue;
      rows.push([
        `concord/${peer}`,
        ...SCENARIOS.flatMap((s) => [
          x(ratio(c[s]?.s, p[s]?.s)),
          x(ratio(c[s]?.peakKiB, p[s]?.peakKiB)),
        ]),
      ]);
    }
  }
  console.log(formatTable(header, rows));
  console.log();
  const list = aims(results);
  console.log(
    formatTable(
      ['aim', 'value', 'target', 'met'],
      list.map((a) => [
        a.name,
        a.value == null ? null : a.name.startsWith('peak') ? a.value.toFixed(1) : x(a.value),
        a.aim,
        a.met == null ? 'n/a' : a.met ? 'met' : 'not met',
      ]),
    ),
  );
  console.log();
  return list;
}

async function main() {
  const opts = parseOptions();
  if (!hasGnuTime()) {
    console.error('note: /usr/bin/time not found (apt-get install time); peak MB is n/a');
  }
  const log = (line) => console.error(line);
  // A tool that cannot even report its version is reported and skipped; the others still run.
  const versions = {};
  const available = {};
  const failures = [];
  for (const tool of opts.tools) {
    const [cmd, args] = TOOLS[tool].version();
    versions[tool] = commandLine(cmd, args);
    available[tool] = versions[tool] != null;
    if (!available[tool]) {
      const hint = tool === 'concord' ? 'run npm run build' : `apt-get install ${tool}`;
      log(`FAILED ${tool}: ${cmd} ${args.join(' ')} does not run (${hint}); skipped`);
      failures.push({ tool, scenario: 'version', exit: null, command: [cmd, ...args] });
    }
  }
  const started = Date.now();
  const tree = ensureTree(opts.data, { files: opts.files, dirs: opts.dirs, seed: SEED });
  const took = ((Date.now() - started) / 1000).toFixed(1);
  log(`source ${tree.src} (${tree.reused ? 'reused' : 'generated'} in ${took}s)`);
  // unison takes a file whose size and inode are unchanged and whose mtime moved by less than
  // about 2 s as unchanged, so a same-size edit right after a fresh generation (small --files)
  // would go unseen; a cached tree is old enough, a new one gets 3 s.
  if (!tree.reused) await new Promise((resolve) => setTimeout(resolve, 3000));
  const base = walkTree(tree.src);
  const plan = planEdits(base);
  const baseBytes = [...base.files.values()].reduce((sum, n) => sum + n, 0);

  // Every pair of every run stays until the end (see the trash above): A, B and some slack.
  fs.mkdirSync(opts.work, { recursive: true });
  const perPair = 2 * (baseBytes + base.files.size * 4096) + 64 * 1024 * 1024;
  const need = perPair * opts.runs * opts.tools.length;
  if (freeBytes(opts.work) < need) fail(`not enough disk under ${opts.work}: ${formatBytes(need)}`);

  const env = environmentInfo();
  const commit = commandLine('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']);
  // Other work on the machine skews every figure; the load averages show whether there was any.
  const load = () =>
    os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ');
  const loadBefore = load();
  console.log(`two-way benchmark  ${env.date}`);
  console.log(`nproc ${env.nproc}, node ${env.node}, ${env.kernel}, ${env.cpu}`);
  if (env.removedEnv.length > 0) console.log(`tools run without ${env.removedEnv.join(', ')}`);
  console.log(`concord ${versions.concord ?? 'n/a'} (${CONCORD_BIN}; repository HEAD ${commit})`);
  for (const tool of opts.tools.filter((t) => t !== 'concord')) {
    console.log(versions[tool] ?? `${tool}: not available`);
  }
  console.log(
    `tree: ${base.files.size} files, ${base.dirs.size} dirs, ${formatBytes(baseBytes)}; ` +
      `changes per side: ${PER_SIDE.edits} edits, ${PER_SIDE.adds} adds, ${PER_SIDE.deletes} deletes; ` +
      `median of ${opts.runs} run(s)`,
  );
  console.log(
    `commands: concord sync A B; unison A B ${UNISON_FLAGS.join(' ')}; ` +
      `rclone bisync A B [--resync on the first] --workdir W ${RCLONE_FLAGS.join(' ')}`,
  );
  console.log('times in seconds, peak MB = max RSS of the largest process (GNU time)');
  console.log();

  const bench = await benchTools(opts, tree, base, plan, available, log);
  failures.push(...bench.failures);
  const aimList = printResults(bench.results, failures);
  for (const f of failures) {
    const where = f.run ? ` run ${f.run}` : '';
    console.log(`FAILED ${f.tool}${where} ${LABELS[f.scenario] ?? f.scenario}: exit ${f.exit}`);
  }
  for (const m of bench.mismatches) {
    const shown = m.problems.slice(0, 10).join('; ');
    const more = m.count > 10 ? ` (and ${m.count - 10} more)` : '';
    console.log(`MISMATCH ${m.tool} run ${m.run} ${LABELS[m.scenario]}: ${shown}${more}`);
  }
  const loadAfter = load();
  console.log(`load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadAfter}`);
  const record = {
    bench: 'twoway',
    ...env,
    versions,
    commit,
    concordBin: CONCORD_BIN,
    loadBefore,
    loadAfter,
    tree: { files: base.files.size, dirs: base.dirs.size, bytes: baseBytes },
    perSide: PER_SIDE,
    runs: opts.runs,
    results: bench.results,
    aims: aimList,
    failures,
    mismatches: bench.mismatches,
  };
  console.log(`RESULT ${JSON.stringify(record)}`);
  console.error('removing old pairs...');
  bench.trash.empty();
  // A failed tool or a difference between the roots makes the whole run fail, after the report.
  if (failures.length || bench.mismatches.length) process.exitCode = 1;
}

try {
  await main();
} catch (err) {
  if (!(err instanceof BenchError)) throw err;
  console.error(`twoway bench: ${err.message}`);
  process.exit(1);
}
