import type { AsgiApplication } from '@tsgi/core';
import { syncToAsync } from '@tsgi/bridge';
import type { hashPassword as HashPassword } from './hash-password.js';

// sync_to_async(hash_password): runs on a worker thread of syncToAsync's runner (`--threads N` sizes it).
const hashPassword = syncToAsync<typeof HashPassword>(new URL('./hash-password.ts', import.meta.url), 'hashPassword');

/** An async view (Starlette's, Django's `async def`) that calls blocking code without stalling the event loop. */
export const app: AsgiApplication = async (scope, _receive, send) => {
  if (scope.type !== 'http') return;
  const key = await hashPassword('correct horse', 'battery staple');
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
  await send({ type: 'http.response.body', body: new TextEncoder().encode(JSON.stringify({ key })) });
};
