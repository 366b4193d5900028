/** uWebSockets.js lends ArrayBuffers that are neutered when its callback returns. */

/**
 * A copy of the bytes of a buffer uWebSockets.js lends (neutered when its
 * callback returns). Allocated as a typed array and filled, not with
 * `ArrayBuffer.prototype.slice`: V8 keeps a small typed array on its own heap
 * with no separately allocated backing store, so small copies (most
 * WebSocket messages) cost far less.
 */
export function copyBytes(data: ArrayBuffer): Uint8Array {
  const n = data.byteLength;
  const copy = new Uint8Array(n);
  if (n > 0) copy.set(new Uint8Array(data));
  return copy;
}
