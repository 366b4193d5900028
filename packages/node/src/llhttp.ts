/**
 * node's own HTTP/1.x parser: llhttp in C++, the one node:http drives,
 * reached through node's `_http_common` module as node:http reaches it. It
 * reads a socket in C++ (`consume`) and calls back only at a head, a piece
 * of body and a message's end, so a request costs no stream objects. This
 * module gives it types and a method table; Http1Connection drives it.
 */
import { createRequire } from 'node:module';

/** A parse error as llhttp reports it: its code (`HPE_*`), and where in the read it stopped. */
export interface ParseError extends Error {
  code: string;
  bytesParsed: number;
  rawPacket?: Buffer;
}

/** The parser object (node's HTTPParser); the callbacks are called with it as `this`. */
export interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | ParseError;
  finish(): number | ParseError | undefined;
  consume(handle: unknown): void;
  unconsume(): void;
  getCurrentBuffer(): Buffer;
  remove(): void;
  close(): void;
  [key: number]: unknown;
}

interface HttpCommon {
  HTTPParser: {
    new (): Parser;
    REQUEST: number;
    kOnMessageBegin: number;
    kOnHeaders: number;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
    kOnExecute: number;
  };
  methods: string[];
}

/** node's `_http_common`, checked for what this module uses: a Node.js without it cannot run @tsgi/node, and says so at import. */
function loadHttpCommon(): HttpCommon {
  let common: Partial<HttpCommon> | undefined;
  try {
    common = createRequire(import.meta.url)('_http_common') as Partial<HttpCommon>;
  } catch {
    common = undefined;
  }
  const parser = common?.HTTPParser?.prototype as Partial<Parser> | undefined;
  if (common === undefined || !Array.isArray(common.methods) || typeof parser?.consume !== 'function' || typeof parser.execute !== 'function') {
    throw new Error(`@tsgi/node needs node's HTTP/1.x parser (HTTPParser and methods of node:_http_common, as node:http uses them), which Node.js ${process.version} does not provide`);
  }
  return common as HttpCommon;
}

const common = loadHttpCommon();
const HTTPParser = common.HTTPParser;

export const kOnMessageBegin = HTTPParser.kOnMessageBegin | 0;
export const kOnHeaders = HTTPParser.kOnHeaders | 0;
export const kOnHeadersComplete = HTTPParser.kOnHeadersComplete | 0;
export const kOnBody = HTTPParser.kOnBody | 0;
export const kOnMessageComplete = HTTPParser.kOnMessageComplete | 0;
export const kOnExecute = HTTPParser.kOnExecute | 0;

/** A parser set up for requests: heads up to `maxHeaderSize` bytes, none of llhttp's leniencies (node:http's defaults). */
export function requestParser(maxHeaderSize: number): Parser {
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.REQUEST, {}, maxHeaderSize, 0);
  return parser;
}

/**
 * The method names by llhttp's numbers, the form its head callback gives:
 * found by parsing one request line per method node lists, so the table
 * follows whatever llhttp this Node.js carries.
 */
export const METHODS: readonly string[] = (() => {
  const table: string[] = [];
  const parser = requestParser(8192);
  let found = -1;
  parser[kOnHeadersComplete] = (_major: number, _minor: number, _raw: string[], method: number) => {
    found = method;
    return 0;
  };
  for (const name of common.methods) {
    found = -1;
    parser.initialize(HTTPParser.REQUEST, {}, 8192, 0);
    const ret = parser.execute(Buffer.from(`${name} / HTTP/1.1\r\nhost: a\r\n\r\n`, 'latin1'));
    if (typeof ret === 'number' && found >= 0) table[found] = name;
  }
  parser.remove();
  parser.close();
  return table;
})();
