/**
 * The responses the runner and the server give on their own, without the
 * app: 500 (worker crashed), 503 (queue full, shutting down), 504 (timed
 * out), 413/400 (bad request body). Short plain-text bodies that say nothing
 * about the cause (spec wsgi.server.error.2): the cause goes to the log.
 */
import type { WsgiHeaders } from '@tsgi/core';
import { statusReason } from '@tsgi/core/server';
import type { ResponseSink } from './types.js';

const encoder = new TextEncoder();

/** A canned plain-text response: status, reason, headers and body. */
export interface Answer {
  status: number;
  reason: string;
  headers: WsgiHeaders;
  body: Uint8Array;
}

const cache = new Map<number, Answer>();

/** The canned response for `status`: its reason phrase (the standard one unless given) as the body. */
export function answerFor(status: number, extraHeaders: WsgiHeaders = [], reason = statusReason(status)): Answer {
  const standard = extraHeaders.length === 0 && reason === statusReason(status);
  const cached = standard ? cache.get(status) : undefined;
  if (cached !== undefined) return cached;
  const body = encoder.encode(`${reason}\n`);
  const answer: Answer = {
    status,
    reason,
    headers: [['Content-Type', 'text/plain; charset=utf-8'], ['Content-Length', String(body.byteLength)], ...extraHeaders],
    body,
  };
  if (standard) cache.set(status, answer);
  return answer;
}
/** Sends a canned response through a sink that has not started. */
export async function sendAnswer(sink: ResponseSink, answer: Answer): Promise<void> {
  await sink.start(answer.status, answer.reason, answer.headers);
  await sink.body(answer.body);
  await sink.end();
}
