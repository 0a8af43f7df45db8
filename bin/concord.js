#!/usr/bin/env -S node --max-semi-space-size=2
// Memory: V8 lets the main thread's young generation grow to 2 x 16 MB and the old generation
// to a few times what is live; a first sync of 50,000 files peaked at ~160 MB, with ~20 MB of it
// live. Both limits are V8 flags. --max-semi-space-size holds only when given at start (this
// line; bench/lib.mjs reads it from here too); --heap-growing-percent is read at every GC, so it
// is set here and holds also for `node bin/concord.js`. Measured: no slower (bench/README.md).
import { setFlagsFromString } from 'node:v8';
import { main } from '../bundle/concord.js';

setFlagsFromString('--heap-growing-percent=20');
process.exitCode = await main(process.argv.slice(2));
