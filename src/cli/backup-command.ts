import { ConcordError } from '../errors.ts';
import type { Out } from './render.ts';

/** `concord backup | versions | restore | prune` (issue 5: being built). */
export async function runBackupCommand(
  command: 'backup' | 'versions' | 'restore' | 'prune',
  _args: string[],
  _out: Out,
): Promise<number> {
  throw new ConcordError('not-implemented', `concord ${command} is not built yet`);
}
