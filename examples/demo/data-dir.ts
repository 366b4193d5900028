/**
 * Where the demo keeps its SQLite database: `.data/` at the repository root
 * (git-ignored), or the folder named by TSGI_DEMO_DATA_DIR. Used on the event
 * loop's thread at startup and on each worker thread that opens the database.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The data directory (absolute). */
export function dataDir(): string {
  const fromEnv = process.env['TSGI_DEMO_DATA_DIR'];
  return fromEnv ? resolve(fromEnv) : fileURLToPath(new URL('../../.data/', import.meta.url));
}

/** The database file inside the data directory. */
export function databasePath(): string {
  return join(dataDir(), 'demo.sqlite');
}

/** Creates the data directory if needed and checks it is writable; throws a message that says what to do otherwise. */
export function ensureDataDir(): string {
  const dir = dataDir();
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new Error(`the demo's data directory ${dir} is not writable (${code}): make it writable, or set TSGI_DEMO_DATA_DIR to a folder that is`);
  }
  return dir;
}
