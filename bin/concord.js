#!/usr/bin/env -S node --max-semi-space-size=2
// Memory: V8 lets the main thread's young generation grow to 2 x 16 MB and the old generation
// to a few times what is live; a first sync of 50,000 files peaked at ~160 MB, with ~20 MB of it
// live. Both limits are V8 flags. --max-semi-space-size holds only when given at start (this
// line; bench/lib.mjs reads it from here too); --heap-growing-percent is read at every GC, so it
// is set here and holds also for `node bin/concord.js`. Measured: no slower (bench/README.md).
//
// Speed: most runs are over in well under a second, and TurboFan's compiles on V8's background
// threads then cost more than the optimised code gives back: they take a core from the threads
// that stat the trees (two cores here). A function is optimised after running 15x longer than
// V8's default (--interrupt-budget is read whenever a function's budget is reset, so setting it
// before the bundle loads covers all our code). Measured 2026-12-02, interleaved runs on the
// 50,000-file tree: two-way re-sync after 200 changes 744 -> 634 ms (median of 8), V8's
// threads' CPU 0.31 -> ~0.05 s; mirror no-op 781 -> 617 ms; an initial mirror (3 s, where hot
// loops still get optimised) and a two-way first sync no slower.
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--heap-growing-percent=20');
setFlagsFromString('--interrupt-budget=1000000');
const { main } = await import('../bundle/concord.js');
process.exitCode = await main(process.argv.slice(2));
