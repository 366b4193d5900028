/**
 * Stand-ins for driving @tsgi/uws's HTTP handler without sockets: a server
 * context with quiet options, and a GET / request with one Host header.
 * Shared by tests that record what the handler does to an HttpResponse and
 * by scripts/handler-microbench.ts; each brings its own HttpResponse stand-in.
 */
import type { AsgiApplication } from '@tsgi/core';
import type { HttpRequest } from '../src/binding.js';
import { ConnectionTracker, type ServerContext } from '../src/context.js';
import { resolveOptions } from '../src/options.js';
import { HTTP_EXTENSIONS } from '../src/server.js';

/** The context of a server on 127.0.0.1:8000 running `app`: no access log, no lifespan, errors to the console. */
export function standInContext(app: AsgiApplication): ServerContext {
  const noop = () => {};
  const state = {};
  return {
    app,
    options: resolveOptions({ accessLog: false, lifespan: 'off' }),
    httpScope: { rootPath: '', state, extensions: HTTP_EXTENSIONS },
    state,
    logger: { debug: noop, info: noop, warning: noop, error: (m, e) => console.error(m, e), access: noop },
    connections: new ConnectionTracker(),
    server: ['127.0.0.1', 8000],
  };
}

/** `GET /` with one header, `host: <host>`, as the handler reads an HttpRequest. */
export function standInRequest(host: string): HttpRequest {
  return {
    getUrl: () => '/',
    getQuery: () => undefined,
    getCaseSensitiveMethod: () => 'GET',
    forEach(cb: (k: string, v: string) => void) {
      cb('host', host);
    },
  } as unknown as HttpRequest;
}
