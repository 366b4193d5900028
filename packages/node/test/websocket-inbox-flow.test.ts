import { describe, expect, it } from 'vitest';
import type { WebSocketReceiveEventUnion } from '@tsgi/core';
import { WebSocketInbox } from '@tsgi/core/server';

const text = (t: string): WebSocketReceiveEventUnion => ({ type: 'websocket.receive', bytes: null, text: t });

describe('WebSocketInbox with an InboxFlow (a transport that can pause its socket)', () => {
  it('never refuses; pauses at either bound and resumes once the app took it down to half of both', async () => {
    const calls: string[] = [];
    const inbox = new WebSocketInbox({ maxMessages: 4, maxBytes: 100 }, { pause: () => calls.push('pause'), resume: () => calls.push('resume') });
    for (let i = 0; i < 3; i++) expect(inbox.push(text(`m${i}`), 1)).toBe(true);
    expect(calls).toEqual([]);
    expect(inbox.push(text('m3'), 1)).toBe(true); // 4 queued: the message bound
    expect(calls).toEqual(['pause']);
    expect(inbox.push(text('m4'), 1)).toBe(true); // still accepted (already parsed by the transport)
    expect(inbox.paused).toBe(true);
    await inbox.receive();
    await inbox.receive();
    expect(calls).toEqual(['pause']); // 3 left: not yet half
    await inbox.receive();
    expect(calls).toEqual(['pause', 'resume']); // 2 left
    expect(inbox.paused).toBe(false);
    // The byte bound pauses too, even with one message.
    const big = new WebSocketInbox({ maxMessages: 64, maxBytes: 100 }, { pause: () => calls.push('pause big'), resume: () => calls.push('resume big') });
    big.push(text('x'), 150);
    expect(calls.at(-1)).toBe('pause big');
    expect(await big.receive()).toEqual(text('x'));
    expect(calls.at(-1)).toBe('resume big');
  });

  it('without a flow it still refuses past its bounds (the uWebSockets.js behavior)', () => {
    const inbox = new WebSocketInbox({ maxMessages: 2, maxBytes: 100 });
    expect(inbox.push(text('a'), 1)).toBe(true);
    expect(inbox.push(text('b'), 1)).toBe(true);
    expect(inbox.push(text('c'), 1)).toBe(false);
  });
});
