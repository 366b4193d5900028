/**
 * How the conformance apps report scopes, environs and events as JSON, in
 * both languages, so that the type of every value survives:
 *
 * - a byte string (Python `bytes`; in TS a `Uint8Array`, or a string of chars
 *   <= 0xFF where spec/ declares a byte string) becomes `{"$bytes": "<latin-1>"}`,
 *   one char per byte;
 * - a text string stays a JSON string; numbers, booleans, null, lists and
 *   dicts stay as they are (tuples become lists);
 * - anything else becomes `{"$type": "<type name>"}` (e.g. `wsgi.input`).
 *
 * A field the spec wants as bytes that arrives as a plain JSON string is
 * therefore a text string in the app: a check can tell the two apart.
 */

/** Parses the JSON the conformance apps produce. Tagged values stay tagged; use `asBytes`. */
export function decodeJson(text: string): unknown {
  return JSON.parse(text);
}

/** A tagged byte string. */
export interface BytesValue {
  $bytes: string;
}

/** True for `{"$bytes": ...}`. */
export function isBytes(v: unknown): v is BytesValue {
  return typeof v === 'object' && v !== null && typeof (v as BytesValue).$bytes === 'string' && Object.keys(v).length === 1;
}

/** The latin-1 string of a tagged byte string, or null when `v` is not one. */
export function asBytes(v: unknown): string | null {
  return isBytes(v) ? v.$bytes : null;
}

/** The type name of a `{"$type": ...}` value, or null. */
export function typeTag(v: unknown): string | null {
  return typeof v === 'object' && v !== null && typeof (v as { $type?: unknown }).$type === 'string' ? (v as { $type: string }).$type : null;
}
