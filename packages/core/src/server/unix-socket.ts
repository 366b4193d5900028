/** Listening on a unix socket: a stale socket file from an earlier run is removed first, and the file again on close. */
import { lstat, unlink } from 'node:fs/promises';

/** Removes a stale socket file at `path` so the bind can succeed; refuses to remove anything but a socket. */
export async function prepareUnixSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => null);
  if (st === null) return;
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
  await unlink(path);
}

/** Removes the socket file once the server closed it (a missing file is fine). */
export async function removeUnixSocket(path: string): Promise<void> {
  await unlink(path).catch(() => {});
}
