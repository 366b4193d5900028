import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LetterBuffer, LetterWriter, type LetterReader } from '../src/runner/mailbox.js';
import { readResult, readTask, writeResult, writeTask, type RequestTask, type ResultLetter } from '../src/runner/protocol.js';

/** One letter's worth of shared memory, written and read at its start. */
class Box {
  private readonly buffer: LetterBuffer;
  constructor(readonly bytes: number) {
    this.buffer = new LetterBuffer(new SharedArrayBuffer(bytes), 0, bytes);
  }
  write(letter: LetterWriter, body: readonly Uint8Array[] = []): boolean {
    return this.buffer.write(0, this.bytes, letter, body) >= 0;
  }
  read(): LetterReader {
    return this.buffer.read(0);
  }
  readBody(): Uint8Array | null {
    return this.buffer.readBody(0);
  }
}

function mailbox(bytes = 16 * 1024): Box {
  return new Box(bytes);
}

const task: RequestTask = {
  kind: 'request',
  id: 1048577,
  hasBody: true,
  scope: {
    type: 'http',
    asgi: { version: '3.0' },
    http_version: '1.1',
    method: 'POST',
    scheme: 'https',
    path: '/caf\u00e9/\u2603',
    raw_path: '/caf%C3%A9/%E2%98%83',
    query_string: 'a=1&b=\u00ff\u0080',
    root_path: '/mount',
    headers: [
      ['host', 'example.org'],
      ['x-latin1', 'caf\u00e9 \u00ff'],
      ['x-empty', ''],
      ['x-dup', 'one'],
      ['x-dup', 'two'],
    ],
    client: ['::1', 54321],
    server: ['/run/app.sock', null],
  },
};

const result: ResultLetter = {
  id: 7,
  posted: 3,
  head: { status: 200, reason: 'OK \u00e9', headers: [['Content-Type', 'text/plain'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']] },
  finish: 'end',
  call: { status: 200, bytes: 5 * 2 ** 30, outcome: 'complete' },
  log: 'a line\nand \u{1F600}\n',
};

describe('letters: a task and a result cross between threads intact', () => {
  it('reads back a task exactly as written (byte strings, Unicode paths, duplicate and empty headers, addresses)', () => {
    const box = mailbox();
    expect(box.write(writeTask(new LetterWriter(), task))).toBe(true);
    expect(readTask(box.read(), () => box.readBody())).toEqual(task);
    expect(box.readBody()).toBeNull();
  });

  it('keeps the absent parts absent: no raw_path, no client, no server', () => {
    const bare: RequestTask = { ...task, hasBody: false, scope: { ...task.scope, raw_path: null, client: null, server: null, headers: [] } };
    const box = mailbox();
    box.write(writeTask(new LetterWriter(), bare));
    expect(readTask(box.read(), () => box.readBody())).toEqual(bare);
  });

  it('reads back a call task: its function by module and name, its arguments as the body, or none when they stayed behind', () => {
    const call = { kind: 'call', id: 42, module: 'file:///app/caf\u00e9.ts', exportName: 'hash', args: new Uint8Array([255, 15, 1, 2]) } as const;
    const box = mailbox();
    expect(box.write(writeTask(new LetterWriter(), call), [call.args])).toBe(true);
    expect(readTask(box.read(), () => box.readBody())).toEqual(call);
    // Arguments too big for an entry stay behind: the task says so, with no body.
    const pulled = { ...call, args: null };
    expect(box.write(writeTask(new LetterWriter(), pulled))).toBe(true);
    expect(readTask(box.read(), () => box.readBody())).toEqual(pulled);
  });

  it('reads back a result and its body, and a result without a head', () => {
    const box = mailbox();
    const body = [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])];
    expect(box.write(writeResult(new LetterWriter(), result), body)).toBe(true);
    expect(readResult(box.read())).toEqual(result);
    expect(box.readBody()).toEqual(new Uint8Array([1, 2, 3, 4, 5]));
    const headless: ResultLetter = { ...result, head: null, finish: 'none', call: { status: 0, bytes: 0, outcome: 'disconnected' }, log: '' };
    box.write(writeResult(new LetterWriter(), headless));
    expect(readResult(box.read())).toEqual(headless);
    expect(box.readBody()).toBeNull();
  });

  it('refuses a letter that does not fit its region, whether numbers, text or body overflow', () => {
    const w = new LetterWriter();
    expect(mailbox(64).write(writeTask(w, task))).toBe(false);
    const many = { ...task, scope: { ...task.scope, headers: Array.from({ length: 3000 }, (_, i): [string, string] => [`h${i}`, 'v']) } };
    expect(mailbox(16 * 1024).write(writeTask(w, many))).toBe(false);
    expect(mailbox(1024).write(writeResult(w, result), [new Uint8Array(2048)])).toBe(false);
    expect(mailbox(4096).write(writeResult(w, result), [new Uint8Array(2048)])).toBe(true);
  });

  it('round-trips any header names and values and any log text (property)', () => {
    const w = new LetterWriter();
    const box = mailbox(64 * 1024);
    const byteString = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 40 });
    fc.assert(
      fc.property(fc.array(fc.tuple(byteString, byteString), { maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 200 }), (headers, log) => {
        const t: RequestTask = { ...task, scope: { ...task.scope, headers } };
        expect(box.write(writeTask(w, t))).toBe(true);
        expect(readTask(box.read(), () => box.readBody())).toEqual(t);
        const r: ResultLetter = { ...result, log };
        expect(box.write(writeResult(w, r))).toBe(true);
        expect(readResult(box.read())).toEqual(r);
      }),
    );
  });
});

describe('LetterBuffer: letters at any offset', () => {
  it('writes letters back to back, each read back at its own offset, and reports where each ends', () => {
    const buffer = new LetterBuffer(new SharedArrayBuffer(4096), 0, 4096);
    const w = new LetterWriter();
    const a = buffer.write(0, 4096, w.reset().num(1).str('first'), [new Uint8Array([9])]);
    const b = buffer.write(a, 4096, w.reset().num(2).str('second \u00e9'));
    expect(a % 8).toBe(0);
    expect(buffer.end(0)).toBe(a);
    expect(buffer.end(a)).toBe(b);
    const first = buffer.read(0);
    expect([first.num(), first.str()]).toEqual([1, 'first']);
    expect(buffer.readBody(0)).toEqual(new Uint8Array([9]));
    const second = buffer.read(a);
    expect([second.num(), second.str()]).toEqual([2, 'second \u00e9']);
    expect(buffer.write(b, b + 16, w.reset().str('does not fit in 16 bytes'))).toBe(-1);
  });
});
