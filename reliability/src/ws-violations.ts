/**
 * The WebSocket protocol-violation corpus (RFC 6455): frames a client must
 * never send, each with the rule it breaks and the close code the RFC wants
 * the server to fail the connection with. Frames are built with the
 * conformance suite's raw encoder (`@tsgi/conformance`), which sets masking,
 * reserved bits, opcodes and fragmentation to anything, legal or not.
 */
import { OP, closePayload, encodeFrame } from '@tsgi/conformance';

/** One violation: the bytes sent on an open WebSocket and the expected refusal. */
export interface WsViolation {
  id: string;
  /** The RFC 6455 rule broken, with its section. */
  why: string;
  /** Bytes written after the handshake (one or more frames). */
  bytes: Buffer;
  /**
   * Close codes the server may fail the connection with (RFC 6455 7.4.1):
   * 1002 protocol error, 1007 invalid payload data, 1009 message too big.
   */
  codes: number[];
}

/** Largest message the server under test accepts (its `wsMaxSize`); small so oversized entries stay cheap. */
export const WS_MAX_SIZE = 64 * 1024;

const text = (payload: string | Uint8Array, extra: { fin?: boolean; rsv?: number; mask?: false } = {}) => encodeFrame({ opcode: OP.TEXT, payload, ...extra });
const frames = (...parts: Buffer[]) => Buffer.concat(parts);

const reservedOpcodes = [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map<WsViolation>((op) => ({
  id: `opcode-0x${op.toString(16)}`,
  why: `opcode 0x${op.toString(16)} is reserved (5.2: an unknown opcode fails the connection)`,
  bytes: encodeFrame({ opcode: op, payload: 'x' }),
  codes: [1002],
}));

const badCloseCodes = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000].map<WsViolation>((code) => ({
  id: `close-code-${code}`,
  why: `close code ${code} is ${code < 1000 || code >= 5000 ? 'outside 1000-4999' : code <= 1006 || code === 1015 ? 'reserved, never sent on the wire' : 'unassigned'} (7.4.1, 7.4.2)`,
  bytes: encodeFrame({ opcode: OP.CLOSE, payload: closePayload(code) }),
  codes: [1002],
}));

/** The corpus. */
export const WS_VIOLATIONS: readonly WsViolation[] = [
  { id: 'unmasked-frame', why: 'a client frame must be masked (5.1)', bytes: text('unmasked', { mask: false }), codes: [1002] },
  { id: 'rsv1', why: 'RSV1 set without a negotiated extension (5.2)', bytes: text('rsv', { rsv: 4 }), codes: [1002] },
  { id: 'rsv2', why: 'RSV2 set without a negotiated extension (5.2)', bytes: text('rsv', { rsv: 2 }), codes: [1002] },
  { id: 'rsv3', why: 'RSV3 set without a negotiated extension (5.2)', bytes: text('rsv', { rsv: 1 }), codes: [1002] },
  ...reservedOpcodes,
  { id: 'ping-126-bytes', why: 'a control frame payload is at most 125 bytes (5.5)', bytes: encodeFrame({ opcode: OP.PING, payload: Buffer.alloc(126, 0x70) }), codes: [1002] },
  { id: 'pong-126-bytes', why: 'a control frame payload is at most 125 bytes (5.5)', bytes: encodeFrame({ opcode: OP.PONG, payload: Buffer.alloc(126, 0x70) }), codes: [1002] },
  { id: 'close-126-bytes', why: 'a control frame payload is at most 125 bytes (5.5)', bytes: encodeFrame({ opcode: OP.CLOSE, payload: closePayload(1000, 'r'.repeat(124)) }), codes: [1002] },
  {
    id: 'ping-fragmented',
    why: 'control frames must not be fragmented (5.5)',
    bytes: frames(encodeFrame({ opcode: OP.PING, payload: 'pi', fin: false }), encodeFrame({ opcode: OP.CONT, payload: 'ng' })),
    codes: [1002],
  },
  {
    id: 'close-fragmented',
    why: 'control frames must not be fragmented (5.5)',
    bytes: frames(encodeFrame({ opcode: OP.CLOSE, payload: closePayload(1000).subarray(0, 1), fin: false }), encodeFrame({ opcode: OP.CONT, payload: closePayload(1000).subarray(1) })),
    codes: [1002],
  },
  { id: 'utf8-invalid', why: 'a text message must be valid UTF-8 (8.1): a lone 0xFF', bytes: text(Buffer.from([0x61, 0x62, 0xff])), codes: [1007] },
  {
    id: 'utf8-invalid-split',
    why: 'a text message must be valid UTF-8 (8.1): an encoded surrogate (ED A0 80) split across fragments',
    bytes: frames(text('ok ', { fin: false }), encodeFrame({ opcode: OP.CONT, payload: Buffer.from([0xed, 0xa0]), fin: false }), encodeFrame({ opcode: OP.CONT, payload: Buffer.from([0x80]) })),
    codes: [1007],
  },
  { id: 'continuation-orphan', why: 'a continuation frame with no message to continue (5.4)', bytes: encodeFrame({ opcode: OP.CONT, payload: 'orphan' }), codes: [1002] },
  {
    id: 'data-frame-mid-message',
    why: 'a new data frame inside a fragmented message (5.4: only continuation and control frames may come in between)',
    bytes: frames(text('start', { fin: false }), text('again')),
    codes: [1002],
  },
  ...badCloseCodes,
  { id: 'close-1-byte', why: 'a close payload is empty or at least a 2-byte code (5.5.1)', bytes: encodeFrame({ opcode: OP.CLOSE, payload: Buffer.from([0x03]) }), codes: [1002] },
  {
    id: 'close-reason-bad-utf8',
    why: 'a close reason must be UTF-8 (5.5.1, 8.1)',
    bytes: encodeFrame({ opcode: OP.CLOSE, payload: closePayload(1000, Buffer.from([0x62, 0x79, 0x65, 0xed, 0xa0, 0x80])) }),
    // Autobahn (7.5.1) accepts either: the reason is invalid data, the frame a malformed control frame.
    codes: [1007, 1002],
  },
  { id: 'message-too-big', why: `a message of wsMaxSize + 1 bytes (${WS_MAX_SIZE + 1}) is over the server's limit (7.4.1)`, bytes: encodeFrame({ opcode: OP.BINARY, payload: Buffer.alloc(WS_MAX_SIZE + 1, 0x62) }), codes: [1009] },
  {
    id: 'message-too-big-fragmented',
    why: 'fragments that add up to more than wsMaxSize (7.4.1)',
    bytes: frames(
      encodeFrame({ opcode: OP.BINARY, payload: Buffer.alloc(WS_MAX_SIZE / 2 + 1, 0x62), fin: false }),
      encodeFrame({ opcode: OP.CONT, payload: Buffer.alloc(WS_MAX_SIZE / 2 + 1, 0x62) }),
    ),
    codes: [1009],
  },
  {
    id: 'message-too-big-2x',
    why: 'one frame of more than twice wsMaxSize (7.4.1)',
    bytes: encodeFrame({ opcode: OP.BINARY, payload: Buffer.alloc(2 * WS_MAX_SIZE + 1, 0x62) }),
    codes: [1009],
  },
];
