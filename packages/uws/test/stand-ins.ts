/**
 * Stand-ins for driving @tsgi/uws's HTTP handler without sockets: a server
 * context with quiet options, a GET / request with one Host header, and an
 * HttpResponse that takes every call and does nothing. Shared by tests that
 * record what the handler does to an HttpResponse (they extend
 * StandInResponse) and by scripts/handler-microbench.ts.
 */
import type { AsgiApplication } from '@tsgi/core';
import type { HttpRequest } from '../src/binding.js';
import { ConnectionTracker, type ServerContext } from '@tsgi/core/server';
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

const ADDRESS = new Uint8Array([127, 0, 0, 1]).buffer;

/**
 * An HttpResponse of a client at 127.0.0.1 that takes every call and does
 * nothing: every write is taken whole, and tryEnd ends the response. A class,
 * so that making one costs what uWS's own wrapper object costs, not a dozen
 * closures; extend it to record or check calls.
 */
export class StandInResponse {
  getRemoteAddress(): ArrayBuffer {
    return ADDRESS.slice(0); // a fresh ArrayBuffer, as uWS hands out
  }
  onAborted(): this {
    return this;
  }
  onData(): this {
    return this;
  }
  onWritable(): this {
    return this;
  }
  cork(cb: () => void): this {
    cb();
    return this;
  }
  writeStatus(): this {
    return this;
  }
  writeHeader(): this {
    return this;
  }
  write(_chunk: Uint8Array): boolean {
    return true;
  }
  end(_chunk?: Uint8Array | string): this {
    return this;
  }
  endWithoutBody(): this {
    return this;
  }
  tryEnd(_chunk: Uint8Array, _total: number): [boolean, boolean] {
    return [true, true];
  }
  getWriteOffset(): number {
    return 0;
  }
  pause(): void {}
  resume(): void {}
  close(): this {
    return this;
  }
}
