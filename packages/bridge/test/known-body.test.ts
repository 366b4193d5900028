import { describe, expect, it } from 'vitest';
import { fromFetchHandler } from '../src/index.js';
import { knownBody } from '../src/fetch/known-body.js';
import { callHttp, httpScope, text } from './harness.js';

const enc = new TextEncoder();

describe('a Response made from text or bytes goes out as one body, without its stream', () => {
  it.each([
    ['a string', () => new Response('héllo'), 'héllo'],
    ['a Uint8Array', () => new Response(enc.encode('bytes')), 'bytes'],
    ['an ArrayBuffer', () => new Response(enc.encode('buffer').buffer), 'buffer'],
    ['Response.json()', () => Response.json({ a: 1 }), '{"a":1}'],
  ])('%s: one final http.response.body with every byte', async (_name, make, expected) => {
    const r = await callHttp(fromFetchHandler(() => make()), httpScope());
    const bodies = r.sent.filter((e) => e.type === 'http.response.body');
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({ more_body: false });
    expect(text(r.body)).toBe(expected);
  });

  it('reads the stream as before for a streamed body, a Blob, or a body the handler already read', async () => {
    const streamed = new Response(new ReadableStream({ start: (c) => (c.enqueue(enc.encode('s')), c.close()) }));
    expect(knownBody(streamed)).toBeUndefined();
    expect(knownBody(new Response(new Blob(['b'])))).toBeUndefined();
    const read = new Response('gone');
    await read.text();
    expect(knownBody(read)).toBeUndefined();
    const locked = new Response('locked');
    locked.body!.getReader();
    expect(knownBody(locked)).toBeUndefined();

    const r = await callHttp(fromFetchHandler(() => new Response(new Blob(['blob body']))), httpScope());
    expect(text(r.body)).toBe('blob body');
    expect(r.sent.filter((e) => e.type === 'http.response.body').length).toBeGreaterThan(1);
  });
});
