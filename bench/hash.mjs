// Content hash candidates on this machine: xxh3-128 and BLAKE3 (both from hash-wasm, the
// only BLAKE3 that installs here) and node:crypto's sha256, on 1 MiB buffers (throughput) and
// 4 KiB buffers (per-file cost). Run: node bench/hash.mjs

import { createHash, randomBytes } from 'node:crypto';
import { createBLAKE3, createXXHash128 } from 'hash-wasm';

const big = randomBytes(1 << 20),
  small = randomBytes(4096);
for (const [name, mk] of [
  ['xxh3-128', createXXHash128],
  ['blake3', createBLAKE3],
]) {
  const h = await mk();
  let t = performance.now();
  for (let i = 0; i < 512; i++) {
    h.init();
    h.update(big);
    h.digest('hex');
  }
  const gbs = 512 / 1024 / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < 50000; i++) {
    h.init();
    h.update(small);
    h.digest('hex');
  }
  const us = ((performance.now() - t) * 1000) / 50000;
  console.log(`${name}: ${gbs.toFixed(2)} GB/s on 1 MiB, ${us.toFixed(2)} us per 4 KiB file`);
}
const t = performance.now();
for (let i = 0; i < 512; i++) createHash('sha256').update(big).digest('hex');
console.log(
  `sha256 (node:crypto): ${(512 / 1024 / ((performance.now() - t) / 1000)).toFixed(2)} GB/s`,
);
