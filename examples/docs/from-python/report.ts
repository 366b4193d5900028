import { pbkdf2Sync } from 'node:crypto';
import type { WsgiApplication } from '@tsgi/core';

/** CPU-heavy and blocking: on a worker thread it holds that one thread, never the event loop. */
export const app: WsgiApplication = (environ, startResponse) => {
  const rounds = Number(new URLSearchParams(environ.QUERY_STRING).get('rounds') ?? '10000');
  const key = pbkdf2Sync('password', 'salt', rounds, 32, 'sha256').toString('hex');
  const body = { SCRIPT_NAME: environ.SCRIPT_NAME, PATH_INFO: environ.PATH_INFO, key };
  startResponse('200 OK', [['Content-Type', 'application/json']]);
  return [new TextEncoder().encode(JSON.stringify(body))];
};
