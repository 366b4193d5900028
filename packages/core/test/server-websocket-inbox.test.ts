import type { WebSocketReceiveEventUnion } from '@tsgi/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WebSocketInbox } from '@tsgi/core/server';

const text = (t: string): WebSocketReceiveEventUnion => ({ type: 'websocket.receive', bytes: null, text: t });
const bye = { type: 'websocket.disconnect', code: 1000, reason: '' } as const;

describe('WebSocketInbox (the receive side, transport-independent)', () => {
  it('delivers queued events in order, then waits', async () => {
    const inbox = new WebSocketInbox({ maxMessages: 10, maxBytes: 100 });
    inbox.push(text('a'), 1);
    inbox.push(text('b'), 1);
    expect(await inbox.receive()).toEqual(text('a'));
    expect(await inbox.receive()).toEqual(text('b'));
    const pending = inbox.receive();
    inbox.push(text('c'), 1);
    expect(await pending).toEqual(text('c'));
    expect(inbox.length).toBe(0);
  });

  it('hands an event straight to a waiting receive() without counting it against the bound', async () => {
    const inbox = new WebSocketInbox({ maxMessages: 1, maxBytes: 1 });
    const pending = inbox.receive();
    expect(inbox.push(text('big'), 1000)).toBe(true);
    expect(await pending).toEqual(text('big'));
    expect(inbox.queuedBytes).toBe(0);
  });

  it('refuses past maxMessages, queueing nothing', () => {
    const inbox = new WebSocketInbox({ maxMessages: 2, maxBytes: 1000 });
    expect(inbox.push(text('1'), 1)).toBe(true);
    expect(inbox.push(text('2'), 1)).toBe(true);
    expect(inbox.push(text('3'), 1)).toBe(false);
    expect(inbox.length).toBe(2);
  });

  it('refuses past maxBytes, but one message always fits an empty inbox', async () => {
    const inbox = new WebSocketInbox({ maxMessages: 100, maxBytes: 10 });
    expect(inbox.push(text('huge'), 50)).toBe(true);
    expect(inbox.push(text('small'), 1)).toBe(false);
    await inbox.receive();
    expect(inbox.queuedBytes).toBe(0);
    expect(inbox.push(text('6'), 6)).toBe(true);
    expect(inbox.push(text('4'), 4)).toBe(true);
    expect(inbox.push(text('1'), 1)).toBe(false);
  });

  it('after close(): queued messages first, then the disconnect for every later receive()', async () => {
    const inbox = new WebSocketInbox({ maxMessages: 10, maxBytes: 100 });
    inbox.push(text('last words'), 1);
    inbox.close(bye);
    expect(inbox.push(text('ignored'), 1)).toBe(true);
    expect(await inbox.receive()).toEqual(text('last words'));
    expect(await inbox.receive()).toEqual(bye);
    expect(await inbox.receive()).toEqual(bye);
  });

  it('close() wakes every pending receive() with the disconnect', async () => {
    const inbox = new WebSocketInbox({ maxMessages: 10, maxBytes: 100 });
    const a = inbox.receive();
    const b = inbox.receive();
    inbox.close(bye);
    expect(await Promise.all([a, b])).toEqual([bye, bye]);
  });

  it('stays correct across many push/receive rounds (the array is compacted)', async () => {
    const inbox = new WebSocketInbox({ maxMessages: 1e6, maxBytes: 1e9 });
    let next = 0;
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 3000; i++) expect(inbox.push(text(String(round * 3000 + i)), 1)).toBe(true);
      for (let i = 0; i < 2500; i++) {
        const e = await inbox.receive();
        expect(e).toEqual(text(String(next++)));
      }
    }
    expect(inbox.length).toBe(5000);
    expect(inbox.queuedBytes).toBe(5000);
  });
});

describe('WebSocketInbox against a reference model (property)', () => {
  type Op = { kind: 'push'; size: number } | { kind: 'receive' } | { kind: 'close' };
  const op = fc.oneof(
    fc.record({ kind: fc.constant('push' as const), size: fc.integer({ min: 0, max: 40 }) }),
    fc.constant({ kind: 'receive' as const }),
    fc.constant({ kind: 'close' as const }),
  );

  it('delivers exactly the accepted messages, in order, then the disconnect; refuses only past a bound', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 100 }), async (ops, maxMessages, maxBytes) => {
        const inbox = new WebSocketInbox({ maxMessages, maxBytes });
        // The reference: a plain list, the waiting receivers, and the rule written out.
        const queue: Array<{ id: number; size: number }> = [];
        let waiting = 0;
        let closed = false;
        const delivered: string[] = [];
        const expected: string[] = [];
        const pending: Array<Promise<void>> = [];
        let id = 0;
        for (const o of ops) {
          if (o.kind === 'push') {
            const n = id++;
            const accepted = inbox.push(text(`m${n}`), o.size);
            let shouldAccept: boolean;
            if (closed) shouldAccept = true; // dropped silently after the end
            else if (waiting > 0) {
              shouldAccept = true;
              waiting--;
              expected.push(`m${n}`);
            } else {
              const bytes = queue.reduce((a, m) => a + m.size, 0);
              shouldAccept = queue.length === 0 || (queue.length < maxMessages && bytes + o.size <= maxBytes);
              if (shouldAccept) queue.push({ id: n, size: o.size });
            }
            expect(accepted).toBe(shouldAccept);
          } else if (o.kind === 'receive') {
            pending.push(inbox.receive().then((e) => void delivered.push(e.type === 'websocket.receive' ? e.text! : e.type)));
            const head = queue.shift();
            if (head) expected.push(`m${head.id}`);
            else if (closed) expected.push('websocket.disconnect');
            else waiting++;
          } else {
            inbox.close(bye);
            if (!closed) for (; waiting > 0; waiting--) expected.push('websocket.disconnect');
            closed = true;
          }
        }
        inbox.close(bye); // wake whatever still waits
        for (; waiting > 0; waiting--) expected.push('websocket.disconnect');
        await Promise.all(pending);
        // Waiters resolve in the order they were woken; compare as multisets of messages in order plus disconnects.
        expect(delivered.filter((d) => d.startsWith('m'))).toEqual(expected.filter((d) => d.startsWith('m')));
        expect(delivered.length).toBe(expected.length);
      }),
      { numRuns: 300 },
    );
  });
});
