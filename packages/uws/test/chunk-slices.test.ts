/**
 * How @tsgi/uws hands a body without Content-Length to uWebSockets.js: in
 * slices that fit its 16 KiB cork buffer, one per cork, because v20.30 drops
 * the bytes of a write that overflows that buffer when the socket is full
 * (CHUNK_SLICE in http-handler.ts). Driven through the real HTTP handler with
 * a stand-in HttpResponse that records its calls, since the loss itself needs
 * a full socket at one exact moment and cannot be provoked on demand.
 */
import type { AsgiApplication } from '@tsgi/core';
import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../src/binding.js';
import { CHUNK_SLICE, createHttpHandler } from '../src/http-handler.js';
import { StandInResponse, standInContext, standInRequest } from './stand-ins.js';

type Call = { call: 'write' | 'end' | 'tryEnd'; bytes: number; cork: number } | { call: 'head'; cork: number };

/** An HttpResponse stand-in that records each write with the cork it was made in (0: none), corking as uWS does. */
class RecordingResponse extends StandInResponse {
  readonly calls: Call[] = [];
  private corks = 0;
  private corked = 0;
  private offset = 0;
  ended: Promise<void>;
  private markEnded!: () => void;
  constructor() {
    super();
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
  }
  override cork(cb: () => void): this {
    if (this.corked !== 0) {
      cb();
      return this;
    }
    this.corked = ++this.corks;
    try {
      cb();
    } finally {
      this.corked = 0;
    }
    return this;
  }
  override writeHeader(): this {
    if (this.calls.at(-1)?.call !== 'head') this.calls.push({ call: 'head', cork: this.corked });
    return this;
  }
  override write(chunk: Uint8Array): boolean {
    this.calls.push({ call: 'write', bytes: chunk.byteLength, cork: this.corked });
    return true;
  }
  override end(chunk: Uint8Array | string = ''): this {
    this.calls.push({ call: 'end', bytes: typeof chunk === 'string' ? chunk.length : chunk.byteLength, cork: this.corked });
    this.markEnded();
    return this;
  }
  override endWithoutBody(): this {
    this.markEnded();
    return this;
  }
  override tryEnd(chunk: Uint8Array, total: number): [boolean, boolean] {
    this.calls.push({ call: 'tryEnd', bytes: chunk.byteLength, cork: this.corked });
    this.offset += chunk.byteLength;
    if (this.offset >= total) this.markEnded();
    return [true, this.offset >= total];
  }
  override getWriteOffset(): number {
    return this.offset;
  }
}

/** Runs one request of `app` through the handler and returns what it did to the response. */
async function respond(app: AsgiApplication): Promise<Call[]> {
  const res = new RecordingResponse();
  createHttpHandler(standInContext(app))(res as unknown as HttpResponse, standInRequest('example.test'));
  await res.ended;
  return res.calls;
}

const bytes = (n: number) => new Uint8Array(n).fill(120);
const sent = (calls: Call[]) => calls.reduce((sum, c) => sum + (c.call === 'head' ? 0 : c.bytes), 0);

describe('a body without Content-Length goes to uWebSockets.js in slices that fit its cork buffer', () => {
  it('streamed chunks of 64 KiB and 40 KiB: every write and the end carry at most CHUNK_SLICE bytes, each in a cork of its own', async () => {
    const calls = await respond(async (_scope, _receive, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/octet-stream']] });
      await send({ type: 'http.response.body', body: bytes(65536), more_body: true });
      await send({ type: 'http.response.body', body: bytes(40960), more_body: false });
    });
    expect(sent(calls)).toBe(65536 + 40960);
    const body = calls.filter((c) => c.call !== 'head');
    expect(body.every((c) => c.bytes <= CHUNK_SLICE)).toBe(true);
    expect(body.every((c) => c.cork > 0)).toBe(true);
    // One body write per cork; the head shares the first one.
    expect(new Set(body.map((c) => c.cork)).size).toBe(body.length);
    expect(calls[0]).toEqual({ call: 'head', cork: body[0]!.cork });
    expect(body.at(-1)!.call).toBe('end');
    expect(body.filter((c) => c.call === 'end')).toHaveLength(1);
  });

  it('a small single body still goes out in one cork with end() (the hello-world path)', async () => {
    const calls = await respond(async (_scope, _receive, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
      await send({ type: 'http.response.body', body: bytes(13) });
    });
    expect(calls).toEqual([
      { call: 'head', cork: 1 },
      { call: 'end', bytes: 13, cork: 1 },
    ]);
  });

  it('a large single body is framed by Content-Length through tryEnd, which reports what the socket took', async () => {
    const calls = await respond(async (_scope, _receive, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/octet-stream']] });
      await send({ type: 'http.response.body', body: bytes(100_000) });
    });
    expect(calls.filter((c) => c.call === 'write' || c.call === 'end')).toEqual([]);
    expect(calls.flatMap((c) => (c.call === 'tryEnd' ? [c.bytes] : []))).toEqual([100_000]);
  });
});
