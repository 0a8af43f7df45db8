/**
 * The package's root directory (a file URL ending in '/'). This module sits one level below
 * it in every form the code runs in: src/ (tsx), dist/ (tsc, the library) and bundle/ (the
 * CLI's esbuild bundle, where this line lands in a chunk directly in bundle/). Paths into the
 * package (package.json, the native addon) start here, not from the importing module, whose
 * depth differs between dist/ and bundle/.
 */
export const PACKAGE_ROOT = new URL('../', import.meta.url);
