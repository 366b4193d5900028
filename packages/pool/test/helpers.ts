/** Shared test helpers: a scope builder, a recording sink, a capturing logger. */
import { buildHttpScope, type HttpScope, type RequestHead, type WsgiHeaders } from '@tsgi/core';
import type { Logger, ResponseSink } from '@tsgi/pool';

export const BEHAVIORS = { module: new URL('./apps/behaviors.ts', import.meta.url).href };

export function scopeFor(target: string, over: Partial<RequestHead> = {}): HttpScope {
  return buildHttpScope(
    { method: 'GET', target, httpVersion: '1.1', headers: [['host', 'test']], client: ['127.0.0.1', 1234], server: ['127.0.0.1', 80], scheme: 'http', ...over },
    { rootPath: '' },
  );
}

/** A sink that records the response; `delayMs` makes each body write slow (a slow client). */
export function recordingSink(opts: { delayMs?: number; failAfter?: number } = {}) {
  const chunks: Uint8Array[] = [];
  const rec = {
    status: 0,
    reason: '',
    headers: [] as WsgiHeaders,
    ended: false,
    aborted: null as unknown,
    calls: [] as string[],
    get body(): Buffer {
      return Buffer.concat(chunks);
    },
    get text(): string {
      return Buffer.concat(chunks).toString();
    },
    chunkCount: () => chunks.length,
  };
  const sink: ResponseSink = {
    start(status, reason, headers) {
      rec.calls.push('start');
      rec.status = status;
      rec.reason = reason;
      rec.headers = headers;
    },
    async body(chunk) {
      rec.calls.push('body');
      if (opts.failAfter !== undefined && chunks.length >= opts.failAfter) throw new Error('socket gone');
      chunks.push(new Uint8Array(chunk));
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    },
    end() {
      rec.calls.push('end');
      rec.ended = true;
    },
    abort(reason) {
      rec.calls.push('abort');
      rec.aborted = reason ?? true;
    },
  };
  return { sink, rec };
}

/** A logger that keeps every line, to assert on what got logged. */
export function captureLogger() {
  const lines: string[] = [];
  const logger: Logger = {
    debug: (m) => void lines.push(`DEBUG ${m}`),
    error: (m) => void lines.push(`ERROR ${m}`),
    warning: (m) => void lines.push(`WARN ${m}`),
    info: (m) => void lines.push(`INFO ${m}`),
    access: (m) => void lines.push(`ACCESS ${m}`),
  };
  return { logger, lines };
}

/** An async body of `total` bytes in `chunk`-sized pieces, generated lazily. */
export async function* generatedBody(total: number, chunk = 65536): AsyncGenerator<Uint8Array> {
  const block = new Uint8Array(chunk).fill(7);
  for (let sent = 0; sent < total; sent += chunk) yield block.subarray(0, Math.min(chunk, total - sent));
}
