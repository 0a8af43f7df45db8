import { homedir } from 'node:os';
import { join } from 'node:path';

/** The state directory: `CONCORD_HOME`, else `$XDG_DATA_HOME/concord`, else `~/.local/share/concord`. */
export function concordHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CONCORD_HOME) return env.CONCORD_HOME;
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, 'concord');
  return join(homedir(), '.local', 'share', 'concord');
}

export const STATE_DB = 'state.db';
