// `npm install` builds the native lister and copy (binding.gyp) with npm's own node-gyp.
// Concord works without them (JavaScript lists and copies the same; a no-op re-sync takes about
// 40% longer), so a machine without a C compiler gets a warning here, not a failed install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

if (process.platform !== 'linux') process.exit(0);
const gyp = process.env.npm_config_node_gyp;
// The headers of the node that runs this, where its install has them (Debian's nodejs and
// Node's own tarballs put them in <prefix>/include/node): node-gyp otherwise downloads them from
// nodejs.org, and without that network (or a `nodedir` in npm's config) the build failed.
const prefix = dirname(dirname(process.execPath));
const nodedir =
  process.env.npm_config_nodedir === undefined &&
  existsSync(join(prefix, 'include', 'node', 'node.h'))
    ? [`--nodedir=${prefix}`]
    : [];
const [cmd, args] = gyp
  ? [process.execPath, [gyp, 'rebuild', ...nodedir]]
  : ['node-gyp', ['rebuild', ...nodedir]];
const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  const lines = (r.stderr ?? '').split('\n').filter((l) => l.trim() !== '');
  // node-gyp's reason runs over several "stack" lines before the call stack ("at ...").
  const at = lines.findIndex((l) => l.includes('gyp ERR! stack Error'));
  const reason = [];
  for (let i = at; at >= 0 && i < lines.length && !/^gyp ERR! stack\s+at /.test(lines[i]); i++)
    if (lines[i].startsWith('gyp ERR! stack'))
      reason.push(lines[i].replace('gyp ERR! stack', '').trim());
  const why =
    r.error?.message ??
    (reason.join(' ') || lines.find((l) => /error/i.test(l)) || `exit ${r.status}`);
  console.warn(
    `concord: the native lister and copy were not built (${why}); listings and copies run in JavaScript. ` +
      'Install python3, make and a C compiler, then run `npm rebuild concord` (or `npm install` in a checkout).',
  );
}
