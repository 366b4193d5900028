import { serve } from '@tsgi/uws';
import type { AsgiApplication } from '@tsgi/core';

const app: AsgiApplication = async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: new TextEncoder().encode('Hello, world!') });
};

export const server = await serve(app, { port: Number(process.env.PORT ?? 8000) });
// ... later:
// await server.close(); // stop accepting, let in-flight requests finish, lifespan shutdown
