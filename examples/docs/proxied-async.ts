import type { AsgiApplication } from '@tsgi/core';

const encoder = new TextEncoder();
const json = (value: unknown) => encoder.encode(`${JSON.stringify(value)}\n`);

/**
 * The async app of the deployment guide. HTTP: tells who asked (the scope's
 * client and scheme, which nginx's proxy headers set) and where it was served
 * (the scope's server: a unix socket path, or host and port). `/slow` answers
 * in two parts, 500 ms apart, to show a graceful restart letting it finish.
 * WebSocket: says who connected, then echoes text messages.
 */
export const app: AsgiApplication = async (scope, receive, send) => {
  if (scope.type === 'lifespan') return; // nothing to set up
  const who = { client: scope.client, scheme: scope.scheme, server: scope.server, path: scope.path };
  if (scope.type === 'websocket') {
    await receive(); // websocket.connect
    await send({ type: 'websocket.accept' });
    await send({ type: 'websocket.send', text: JSON.stringify(who) });
    for (;;) {
      const event = await receive();
      if (event.type === 'websocket.disconnect') return;
      if (event.type === 'websocket.receive' && event.text != null) await send({ type: 'websocket.send', text: event.text });
    }
  }
  if (scope.path === '/slow') {
    // ?sized announces the length up front (Content-Length) instead of streaming the body chunked.
    const parts = [json({ part: 1 }), json({ part: 2 })] as const;
    const headers: Array<[string, string]> = [['content-type', 'application/json']];
    if (scope.query_string === 'sized') headers.push(['content-length', String(parts[0].length + parts[1].length)]);
    await send({ type: 'http.response.start', status: 200, headers });
    await send({ type: 'http.response.body', body: parts[0], more_body: true });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await send({ type: 'http.response.body', body: parts[1] });
    return;
  }
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
  await send({ type: 'http.response.body', body: json(who) });
};
