import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * node:crypto, loaded on first use. Imported statically it was loaded into every run, with
 * fifteen modules of its own (~6 ms here), where a no-op needs none of it.
 */
export const nodeCrypto = (): typeof import('node:crypto') => require('node:crypto');
