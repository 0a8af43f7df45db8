import { ConcordError } from '../errors.ts';
import type { Out } from './render.ts';

/** `concord trash list | restore | empty` (issue 5: being built). */
export async function runTrashCommand(_args: string[], _out: Out): Promise<number> {
  throw new ConcordError('not-implemented', 'concord trash is not built yet');
}
