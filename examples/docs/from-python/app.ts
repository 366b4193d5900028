import { mount, wsgiToAsgi } from '@tsgi/bridge';
import type { AsgiApplication, Send } from '@tsgi/core';

/** What lifespan startup prepares for every request: Starlette's `app.state`, carried by `scope.state`. */
interface State {
  upstream: string;
  startedAt: string;
}

async function sendJson(send: Send, status: number, value: unknown): Promise<void> {
  await send({ type: 'http.response.start', status, headers: [['content-type', 'application/json']] });
  await send({ type: 'http.response.body', body: new TextEncoder().encode(JSON.stringify(value)) });
}

/** The async views (`async def` in Flask 2+ or Starlette): they run on the event loop. */
const views: AsgiApplication = async (scope, receive, send) => {
  if (scope.type === 'lifespan') {
    for (;;) {
      const event = await receive();
      if (event.type === 'lifespan.startup') {
        const state: State = { upstream: process.env.UPSTREAM_URL ?? 'http://127.0.0.1:9000', startedAt: new Date().toISOString() };
        Object.assign(scope.state!, state);
        await send({ type: 'lifespan.startup.complete' });
      } else {
        return send({ type: 'lifespan.shutdown.complete' });
      }
    }
  }
  if (scope.type !== 'http') return;
  const state = scope.state as unknown as State;
  const route = scope.path.slice(scope.root_path.length); // path includes root_path (--root-path, mount)
  if (route === '/quote') {
    // httpx.AsyncClient / aiohttp: the global fetch. Other requests are served while this one waits.
    const res = await fetch(new URL('/quote', state.upstream), { signal: AbortSignal.timeout(5000) });
    return sendJson(send, 200, { upstreamStatus: res.status, quote: await res.json() });
  }
  if (route === '/sleep') {
    await new Promise((resolve) => setTimeout(resolve, 100)); // await asyncio.sleep(0.1)
    return sendJson(send, 200, { slept: 0.1, startedAt: state.startedAt });
  }
  return sendJson(send, 404, { error: 'not found' });
};

/** Blocking code (a sync database driver, CPU work) runs as a sync app on worker threads: Starlette's `def` views. */
const report = wsgiToAsgi({ module: new URL('./report.ts', import.meta.url).href, exportName: 'app' }, { threads: 2 });

/** Both under one server, like Starlette's `Mount`: `/report/...` on threads, the rest on the event loop. */
export const app = mount([
  ['/report', report],
  ['', views],
]);
