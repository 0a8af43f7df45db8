/**
 * bin/concord.js as `npx concord` and an installed `concord` run it: through its shebang line
 * (`env -S` with GLIBC_TUNABLES and node flags), not `node bin/concord.js` as the other tests do.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { CLI, makeTree, readTree, tempDir } from '../helpers/tree.ts';

const run = promisify(execFile);

test("the shebang line runs the CLI: a mirror through it, with and without a GLIBC_TUNABLES of the user's own", async (t) => {
  const dir = tempDir(t);
  makeTree(join(dir, 'a'), { 'f.txt': 'one', 'sub/g.txt': 'two' });
  const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    .version as string;
  for (const [i, tunables] of [undefined, 'glibc.malloc.arena_max=2'].entries()) {
    const env: NodeJS.ProcessEnv = { ...process.env, CONCORD_HOME: join(dir, `home${i}`) };
    if (tunables === undefined) delete env.GLIBC_TUNABLES;
    else env.GLIBC_TUNABLES = tunables;
    const v = await run(CLI, ['--version'], { env });
    assert.equal(v.stdout, `${version}\n`);
    const b = join(dir, `b${i}`);
    await run(CLI, ['mirror', join(dir, 'a'), b], { env });
    assert.deepEqual(readTree(b), readTree(join(dir, 'a')));
  }
});

test('the shebang line fits in the 127 bytes Linux before 5.1 reads of it (a longer one is cut there, and node refuses the cut flag)', () => {
  const head = readFileSync(CLI).subarray(0, 128);
  const end = head.indexOf('\n');
  assert.ok(end >= 0 && end <= 127, `the first line is ${end < 0 ? 'over 127' : end} bytes`);
});
