import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LetterWriter, Mailbox } from '../src/runner/mailbox.js';
import { readResult, readTask, writeResult, writeTask, type RequestTask, type ResultLetter } from '../src/runner/protocol.js';

function mailbox(bytes = 16 * 1024): Mailbox {
  return new Mailbox(new SharedArrayBuffer(bytes), 0, bytes);
}

const task: RequestTask = {
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
    expect(readTask(box.read())).toEqual(task);
    expect(box.readBody()).toBeNull();
  });

  it('keeps the absent parts absent: no raw_path, no client, no server', () => {
    const bare: RequestTask = { ...task, hasBody: false, scope: { ...task.scope, raw_path: null, client: null, server: null, headers: [] } };
    const box = mailbox();
    box.write(writeTask(new LetterWriter(), bare));
    expect(readTask(box.read())).toEqual(bare);
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
        expect(readTask(box.read())).toEqual(t);
        const r: ResultLetter = { ...result, log };
        expect(box.write(writeResult(w, r))).toBe(true);
        expect(readResult(box.read())).toEqual(r);
      }),
    );
  });
});
