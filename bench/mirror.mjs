// One-way mirror benchmark: concord vs rsync vs cp on a generated tree. See bench/README.md.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  commandLine,
  concordCommand,
  createTrash,
  ensureTree,
  environmentInfo,
  formatBytes,
  formatTable,
  hasGnuTime,
  median,
  rotate,
  summarizeTree,
  timeCommand,
  warmCache,
} from './lib.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CONCORD_BIN = path.join(REPO, 'bin', 'concord.js');
const SEED = 1;

const concordMirror = (src, dst) => concordCommand(CONCORD_BIN, 'mirror', src, dst);
const rsyncMirror = (src, dst) => ['rsync', ['-a', '--delete', `${src}/`, `${dst}/`]];
const cpCopy = (src, dst) => ['cp', ['-a', `${src}/.`, `${dst}/`]];

// noop: null means the tool has no incremental mode worth timing.
const TOOLS = {
  concord: { initial: concordMirror, noop: concordMirror },
  rsync: { initial: rsyncMirror, noop: rsyncMirror },
  cp: { initial: cpCopy, noop: null },
};

const USAGE = `usage: node bench/mirror.mjs [--files 50000] [--dirs 2000] [--runs 3]
       [--tools concord,rsync,cp] [--data bench/.data] [--keep]`;

function fail(message) {
  console.error(`mirror bench: ${message}`);
  process.exit(1);
}

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        files: { type: 'string', default: '50000' },
        dirs: { type: 'string', default: '2000' },
        runs: { type: 'string', default: '3' },
        tools: { type: 'string', default: 'concord,rsync,cp' },
        data: { type: 'string', default: path.join(REPO, 'bench', '.data') },
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
  const positive = (name) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer`);
    return n;
  };
  const tools = values.tools.split(',').filter(Boolean);
  const unknown = tools.filter((t) => !(t in TOOLS));
  if (unknown.length || !tools.length) fail(`--tools takes a subset of ${Object.keys(TOOLS)}`);
  return {
    files: positive('files'),
    dirs: positive('dirs'),
    runs: positive('runs'),
    tools,
    data: path.resolve(values.data),
    keep: values.keep,
  };
}

async function measure(tool, phase, src, dst) {
  const [cmd, args] = TOOLS[tool][phase](src, dst);
  const result = await timeCommand(cmd, args);
  if (result.code !== 0) {
    process.stderr.write(result.stderr);
    fail(
      `${tool} ${phase} failed (exit ${result.code ?? result.signal}): ${cmd} ${args.join(' ')}`,
    );
  }
  return result;
}

// A cheap stand-in for diff -r, which is far too slow at 50k files.
function verifyCopy(tool, srcSummary, dst) {
  const got = summarizeTree(dst, { exclude: ['.concord'] });
  for (const key of ['files', 'dirs', 'bytes']) {
    if (got[key] !== srcSummary[key]) {
      fail(`${tool} copy is wrong: ${key} source=${srcSummary[key]} destination=${got[key]}`);
    }
  }
}

const seconds = (s) => (s == null ? null : s.toFixed(2));
const megabytes = (kib) => (kib == null ? null : (kib / 1024).toFixed(1));
const ratio = (a, b) => (a == null || b == null ? null : a / b);

async function main() {
  const opts = parseOptions();
  if (!hasGnuTime()) {
    console.error('note: /usr/bin/time not found (apt-get install time); peak MB is n/a');
  }

  let concordVersion = null;
  if (opts.tools.includes('concord')) {
    concordVersion = commandLine(...concordCommand(CONCORD_BIN, '--version'));
    if (!concordVersion) {
      fail(`${CONCORD_BIN} --version failed: run npm run build, or pass --tools`);
    }
  }

  const started = Date.now();
  const tree = ensureTree(opts.data, { files: opts.files, dirs: opts.dirs, seed: SEED });
  const took = ((Date.now() - started) / 1000).toFixed(1);
  console.error(`source: ${tree.src} (${tree.reused ? 'reused' : 'generated'} in ${took}s)`);
  const srcSummary = summarizeTree(tree.src);
  warmCache(tree.src);

  const dstRoot = path.join(opts.data, 'dst');
  const dstOf = (tool) => path.join(dstRoot, tool);
  const trash = createTrash(path.join(opts.data, 'trash'));
  trash.retire(dstRoot);
  const samples = Object.fromEntries(
    opts.tools.map((t) => [t, { initial: [], initialKiB: [], noop: [], noopKiB: [] }]),
  );

  for (let run = 0; run < opts.runs; run++) {
    const order = rotate(opts.tools, run);
    for (const tool of order) {
      const dst = dstOf(tool);
      trash.retire(dst);
      fs.mkdirSync(dst, { recursive: true });
      const r = await measure(tool, 'initial', tree.src, dst);
      if (tool === 'concord') verifyCopy(tool, srcSummary, dst);
      samples[tool].initial.push(r.seconds);
      samples[tool].initialKiB.push(r.peakKiB);
      console.error(`run ${run + 1}/${opts.runs} initial ${tool}: ${r.seconds.toFixed(2)}s`);
    }
    for (const tool of order) {
      if (!TOOLS[tool].noop) continue;
      const r = await measure(tool, 'noop', tree.src, dstOf(tool));
      samples[tool].noop.push(r.seconds);
      samples[tool].noopKiB.push(r.peakKiB);
      console.error(`run ${run + 1}/${opts.runs} no-op ${tool}: ${r.seconds.toFixed(2)}s`);
    }
  }
  if (!opts.keep) trash.retire(dstRoot);

  const results = Object.fromEntries(
    Object.entries(samples).map(([tool, s]) => [
      tool,
      {
        initialS: median(s.initial),
        initialPeakKiB: median(s.initialKiB),
        noopS: median(s.noop),
        noopPeakKiB: median(s.noopKiB),
        initialRunsS: s.initial,
        noopRunsS: s.noop,
      },
    ]),
  );
  const ratios = {};
  for (const other of ['rsync', 'cp']) {
    const [a, b] = [results.concord, results[other]];
    if (!a || !b) continue;
    ratios[`concord/${other}`] = {
      initial: ratio(a.initialS, b.initialS),
      noop: ratio(a.noopS, b.noopS),
      initialPeak: ratio(a.initialPeakKiB, b.initialPeakKiB),
      noopPeak: ratio(a.noopPeakKiB, b.noopPeakKiB),
    };
  }

  const env = environmentInfo();
  const rsyncVersion = commandLine('rsync', ['--version']);
  const commit = commandLine('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']);
  console.log(`mirror benchmark  ${env.date}`);
  console.log(`nproc ${env.nproc}, node ${env.node}, ${env.kernel}, ${env.cpu}`);
  if (env.removedEnv.length > 0) console.log(`tools run without ${env.removedEnv.join(', ')}`);
  const concordLabel = concordVersion ? `; concord ${concordVersion} (commit ${commit})` : '';
  console.log(`${rsyncVersion}${concordLabel}`);
  console.log(
    `${srcSummary.files} files, ${srcSummary.dirs} dirs, ${srcSummary.bytes} bytes (${formatBytes(srcSummary.bytes)}); median of ${opts.runs} run(s)`,
  );
  console.log();
  const x = (r) => (r == null ? null : `${r.toFixed(2)}x`);
  const rows = [
    ...Object.entries(results).map(([tool, r]) => [
      tool,
      seconds(r.initialS),
      megabytes(r.initialPeakKiB),
      seconds(r.noopS),
      megabytes(r.noopPeakKiB),
    ]),
    ...Object.entries(ratios).map(([name, r]) => [
      name,
      x(r.initial),
      x(r.initialPeak),
      x(r.noop),
      x(r.noopPeak),
    ]),
  ];
  console.log(formatTable(['tool', 'initial (s)', 'peak MB', 'no-op (s)', 'peak MB'], rows));
  console.log();
  const record = {
    bench: 'mirror',
    ...env,
    rsync: rsyncVersion,
    concord: concordVersion,
    commit,
    ...srcSummary,
    runs: opts.runs,
    results,
    ratios,
  };
  console.log(`RESULT ${JSON.stringify(record)}`);
  console.error('removing old destinations...');
  trash.empty();
}

await main();
