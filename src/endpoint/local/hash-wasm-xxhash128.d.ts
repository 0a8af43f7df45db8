// hash-wasm's per-algorithm bundle (CommonJS, UMD): the same createXXHash128 as the package's
// index, without parsing the other 29 algorithms (the index is 1.4 MB of inlined WebAssembly).
declare module 'hash-wasm/dist/xxhash128.umd.min.js' {
  const xxhash128: { createXXHash128: typeof import('hash-wasm').createXXHash128 };
  export default xxhash128;
}
