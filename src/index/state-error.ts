import { ConcordError, errText } from '../errors.ts';

/** A database error as one line naming the file and what to do. */
export function stateError(file: string, err: unknown): ConcordError {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new ConcordError('state', 'the state database is corrupt', {
      path: file,
      hint: 'run `concord index --rebuild ROOT`: it keeps the damaged file beside the new one',
      cause: err,
    });
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new ConcordError('state', 'the state database is busy (another Concord is writing)', {
      path: file,
      hint: 'try again when it has finished',
      cause: err,
    });
  }
  return new ConcordError('state', `cannot use the state database: ${errText(err)}`, {
    path: file,
    hint: 'check its permissions and free space, or set CONCORD_HOME elsewhere',
    cause: err,
  });
}
