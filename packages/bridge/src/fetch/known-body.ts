/**
 * The body of a Response made from a string or bytes (`new Response('Hello')`,
 * `c.text()`, `Response.json()`), read without its stream. Node's Response
 * (undici) keeps such a body's source beside the stream it makes for it;
 * taking the source spares the reader, a read per chunk and a chunked
 * response, and the length makes the response go out with Content-Length.
 * Where the source is not there (another fetch implementation, a streamed or
 * already read body) the stream is read as usual.
 */

import { nativeResponse } from './light-response.js';

/**
 * undici's internal state key on a Response, if this runtime's Response has
 * one; found at the first call, since touching Response loads all of fetch.
 */
let STATE: symbol | null | undefined;

interface UndiciBody {
  stream?: ReadableStream<Uint8Array>;
  source?: unknown;
}

/** The whole body of `response` as bytes when its source is text or bytes and nobody read it; else undefined. */
export function knownBody(response: Response): Uint8Array | undefined {
  if (STATE === undefined) STATE = Object.getOwnPropertySymbols(new (nativeResponse())('')).find((s) => s.description === 'state') ?? null;
  if (STATE === null || response.bodyUsed) return undefined;
  const body = (response as unknown as Record<symbol, { body?: UndiciBody | null } | undefined>)[STATE]?.body;
  if (body == null || body.stream?.locked !== false) return undefined;
  const source = body.source;
  if (typeof source === 'string') return Buffer.from(source, 'utf8');
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  return undefined;
}
