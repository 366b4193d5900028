/**
 * The request record shared by the test apps and the tests: each app appends
 * one line per request it sees to the file named by $TSGI_RELIABILITY_RECORD.
 * A file (not memory) because the pool server runs its app on worker threads
 * and the CLI tests run the server in a child process.
 */
import { appendFileSync, readFileSync } from 'node:fs';

/** What an app saw of one request. */
export interface SeenRequest {
  method: string;
  path: string;
  client: string | null;
  scheme: string;
  headers: Record<string, string>;
}

/** The environment variable naming the record file. */
export const RECORD_ENV = 'TSGI_RELIABILITY_RECORD';

/** Appends one request to the record (synchronously, so it is written before the response goes out). */
export function recordRequest(seen: SeenRequest): void {
  const file = process.env[RECORD_ENV];
  if (file) appendFileSync(file, JSON.stringify(seen) + '\n');
}

/** Every request recorded in `file` so far. */
export function readRecord(file: string): SeenRequest[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as SeenRequest);
}
