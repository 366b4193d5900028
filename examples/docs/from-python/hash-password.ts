import { pbkdf2Sync } from 'node:crypto';

/** Blocking and CPU-heavy: syncToAsync runs it on a worker thread. */
export function hashPassword(password: string, salt: string): string {
  return pbkdf2Sync(password, salt, 200_000, 32, 'sha256').toString('hex');
}
