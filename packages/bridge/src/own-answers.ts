/**
 * What the bridge's apps answer on their own, without the app or handler
 * they wrap: a plain-text response whose body is the status's reason phrase
 * (the words every tsgi server uses for its own answers), and a WebSocket
 * refused before accept.
 */
import { isClientDisconnected, type Receive, type Send } from '@tsgi/core';
import { statusReason } from '@tsgi/core/server';

const encoder = new TextEncoder();

/** Sends `status` with its reason phrase as a plain-text body; a client already gone is no error. */
export async function sendPlainAnswer(send: Send, status: number): Promise<void> {
  const body = encoder.encode(statusReason(status));
  try {
    await send({
      type: 'http.response.start',
      status,
      headers: [
        ['content-type', 'text/plain; charset=utf-8'],
        ['content-length', String(body.byteLength)],
      ],
    });
    await send({ type: 'http.response.body', body, more_body: false });
  } catch (e) {
    if (!isClientDisconnected(e)) throw e;
  }
}

/** Refuses a WebSocket before accept (close before `websocket.accept`): the server answers the handshake 403. */
export async function refuseWebSocket(receive: Receive, send: Send): Promise<void> {
  await receive(); // websocket.connect
  await send({ type: 'websocket.close', code: 1000 });
}
