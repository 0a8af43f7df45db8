#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.top_pad=2097152:${GLIBC_TUNABLES} node --max-semi-space-size=2 --heap-growing-percent=20 --interrupt-budget=1000000
// Memory: V8 lets the main thread's young generation grow to 2 x 16 MB and the old generation
// to a few times what is live; a first sync of 50,000 files peaked at ~160 MB, with ~20 MB of it
// live. Both limits are V8 flags, given on this line (bench/lib.mjs reads them from here too).
// --max-semi-space-size holds only when given at start; --heap-growing-percent is read at every
// GC and --interrupt-budget whenever a function's budget is reset, so for `node bin/concord.js`
// they are set below, before the bundle loads. Measured: no slower (bench/README.md).
//
// Speed: most runs are over in well under a second, and TurboFan's compiles on V8's background
// threads then cost more than the optimised code gives back: they take a core from the threads
// that stat the trees (two cores here). A function is optimised after running 15x longer than
// V8's default. Measured 2026-12-02, interleaved runs on the
// 50,000-file tree: two-way re-sync after 200 changes 744 -> 634 ms (median of 8), V8's
// threads' CPU 0.31 -> ~0.05 s; mirror no-op 781 -> 617 ms; an initial mirror (3 s, where hot
// loops still get optimised) and a two-way first sync no slower.
//
// Page faults: on our VM a minor fault costs ~10 us, and a no-op mirror of 50,000 files took
// ~7,600 of them, most on memory malloc hands out (the main thread's heap, the pool threads'
// arenas) and V8's. glibc's tunables, read when the process starts (so on the shebang line),
// have malloc grow its heap by 2 MB at least and ask for transparent huge pages on it (Linux
// serves those where THP is `madvise`, Debian's default): ~4,900 faults, the no-op 445 -> 417 ms
// (means of 25 runs), peak memory +15-20 MB (a no-op 70 -> 87 MB, a first --checksum run 103 ->
// 122 MB). Where glibc or THP is missing, or for `node bin/concord.js`, nothing changes.
// A GLIBC_TUNABLES of the user's own comes after ours (later settings win) and is all that
// processes we start see.
const OURS = 'glibc.malloc.hugetlb=1:glibc.malloc.top_pad=2097152:';
const tunables = process.env.GLIBC_TUNABLES;
if (tunables?.startsWith(OURS)) {
  const theirs = tunables.slice(OURS.length);
  if (theirs === '') delete process.env.GLIBC_TUNABLES;
  else process.env.GLIBC_TUNABLES = theirs;
}

// The same flags for `node bin/concord.js`; loading node:v8 costs ~4 ms, so only then.
if (!process.execArgv.includes('--interrupt-budget=1000000')) {
  const { setFlagsFromString } = await import('node:v8');
  setFlagsFromString('--heap-growing-percent=20');
  setFlagsFromString('--interrupt-budget=1000000');
}
const { main } = await import('../bundle/concord.js');
process.exitCode = await main(process.argv.slice(2));
