// Bundles the CLI for `bin/concord.js` (part of `npm run build`; dist/ stays tsc's, for the
// library and its types). Why: every run of the CLI loaded ~85 modules one by one, each
// resolved, read and compiled apart; the bundle holds the same code in a few chunks and loads
// a two-way run's code 40-60 ms sooner on our 2-core VM (bench/README.md). Commands stay loaded
// on demand (their dynamic imports become chunks), and each worker thread is its own entry.
// Chunks land directly in bundle/, one level below the package root, as src/package-root.ts
// requires; workers are found beside the chunk that starts them (start-worker.ts).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// esbuild leaves the chunks of earlier builds in place: start from an empty directory.
rmSync('bundle', { recursive: true, force: true });

await build({
  entryPoints: {
    concord: 'src/cli/main.ts',
    worker: 'src/endpoint/local/worker.ts',
    'walk-worker': 'src/endpoint/local/walk-worker.ts',
  },
  outdir: 'bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  // better-sqlite3 (an addon), ignore and hash-wasm load from node_modules as before.
  packages: 'external',
  logLevel: 'warning',
});
