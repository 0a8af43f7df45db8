#!/usr/bin/env -SGLIBC_TUNABLES=glibc.malloc.hugetlb=1:${GLIBC_TUNABLES} node --max-semi-space-size=2 --interrupt-budget=999999
// This line is 127 bytes, all Linux before 5.1 reads of it (a longer one was cut there, and
// node refused the cut flag): hence -S joined to its argument (GNU env takes both) and a budget
// of 999999. test/e2e/cli-shebang.test.ts checks the length.
//
// Memory: V8 lets the main thread's young generation grow to 2 x 16 MB and the old generation
// to a few times what is live; a first sync of 50,000 files peaked at ~160 MB, with ~20 MB of it
// live. Both limits are V8 flags. --max-semi-space-size holds only when given at start (this
// line; bench/lib.mjs reads it from here too). --heap-growing-percent is read at every GC: it is
// set below once a run has lasted 500 ms, as loading node:v8 for it costs ~8 ms, which a no-op
// (~0.4 s) need not pay. Measured 2026-12-03: an initial mirror of 50,000 files peaked at 115-122
// MB without it, 93 MB with it from the start, 109 MB from 500 ms; a first --checksum run at
// 150, 118 and 118 MB.
//
// Speed: most runs are over in well under a second, and TurboFan's compiles on V8's background
// threads then cost more than the optimised code gives back: they take a core from the threads
// that stat the trees (two cores here). A function is optimised after running 15x longer than
// V8's default (--interrupt-budget, read whenever a function's budget is reset: for `node
// bin/concord.js` it is set below, before the bundle loads). Measured 2026-12-02, interleaved
// runs on the 50,000-file tree: two-way re-sync after 200 changes 744 -> 634 ms (median of 8),
// V8's threads' CPU 0.31 -> ~0.05 s; mirror no-op 781 -> 617 ms; an initial mirror (3 s, where
// hot loops still get optimised) and a two-way first sync no slower.
//
// Page faults: on our VM a minor fault costs ~10 us, and a no-op mirror of 50,000 files took
// ~7,600 of them, most on memory malloc hands out (the main thread's heap, the pool threads'
// arenas) and V8's. glibc's tunable glibc.malloc.hugetlb, read when the process starts (so on
// this line), has malloc ask for transparent huge pages (Linux serves those where THP is
// `madvise`, Debian's default), and tuneProcess (src/cli/main.ts) has it grow its heap by 2 MiB
// at least: ~4,900 faults, the no-op 445 -> 417 ms (means of 25 runs), peak memory +15-20 MB.
// Where glibc or THP is missing nothing changes. A GLIBC_TUNABLES of the user's own comes after
// ours (later settings win) and is all that processes we start see.
const OURS = 'glibc.malloc.hugetlb=1:';
const tunables = process.env.GLIBC_TUNABLES;
if (tunables?.startsWith(OURS)) {
  const theirs = tunables.slice(OURS.length);
  if (theirs === '') delete process.env.GLIBC_TUNABLES;
  else process.env.GLIBC_TUNABLES = theirs;
}

const BUDGET = '--interrupt-budget=999999';
const GROWING = '--heap-growing-percent=20';
if (process.execArgv.includes(BUDGET)) {
  setTimeout(() => import('node:v8').then((v8) => v8.setFlagsFromString(GROWING)), 500).unref();
} else {
  const v8 = await import('node:v8');
  v8.setFlagsFromString(BUDGET);
  v8.setFlagsFromString(GROWING);
}
const { main, notUtf8Argument, notUtf8Error, tuneProcess } = await import('../bundle/concord.js');
const args = process.argv.slice(2);
const bad = notUtf8Argument(args);
if (bad >= 0) {
  process.stderr.write(`concord: ${notUtf8Error(args, bad).line()}\n`);
  process.exitCode = 2;
} else {
  tuneProcess();
  process.exitCode = await main(args);
}
