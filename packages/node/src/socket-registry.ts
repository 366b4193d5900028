/**
 * What the server keeps per connection: the HTTP exchanges in flight on it
 * (several at once when the client pipelines), each told when the socket
 * closes, and the addresses its request heads carry. The socket's own
 * 'close' is the one signal every exchange on it can rely on (a response
 * waiting behind pipelined ones has no socket of its own to hear). An
 * Http1Connection holds its ConnectionState; a socket served on node:http's
 * objects after an upgrade, and an HTTP/2 session, have theirs found here.
 *
 * The state hangs on the socket under a symbol, found with one lookup per
 * request. Its exchanges form a list threaded through the exchanges
 * themselves: joining and leaving, once per request, allocate nothing and
 * hash nothing (a Set per socket would also churn its hash table at request
 * rate, the pattern id-table.ts explains).
 */
import type { Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { Extensions, ScopeOptions } from '@tsgi/core';
import type { ConnectionAddresses, Logger } from '@tsgi/core/server';

/** An exchange that must hear its socket close; the connection keeps the two links. */
export interface SocketMember {
  /** The socket closed (the client left, or the server closed it). Must not throw. */
  socketClosed(): void;
  /** Links of the connection's list: owned by ConnectionState, null while not on it. */
  prevOnSocket: SocketMember | null;
  nextOnSocket: SocketMember | null;
}

/** The state of one connection. */
export class ConnectionState {
  /** The newest exchange in flight; the others follow through nextOnSocket. */
  private first: SocketMember | null = null;
  /** The addresses of its request heads, read from the socket at its first request. */
  addresses: ConnectionAddresses | null = null;
  /** On a TLS connection, the server's http scope options with the connection's `tls` extension added; else null. */
  httpScope: (ScopeOptions & { extensions: Extensions }) | null = null;

  /** Puts `member` on the list. */
  join(member: SocketMember): void {
    const first = this.first;
    member.prevOnSocket = null;
    member.nextOnSocket = first;
    if (first !== null) first.prevOnSocket = member;
    this.first = member;
  }

  /** Takes `member` off the list (its exchange is over); a member not on it is left alone. */
  leave(member: SocketMember): void {
    const prev = member.prevOnSocket;
    const next = member.nextOnSocket;
    if (prev !== null) prev.nextOnSocket = next;
    else if (this.first === member) this.first = next;
    else return;
    if (next !== null) next.prevOnSocket = prev;
    member.prevOnSocket = member.nextOnSocket = null;
  }

  /** True when an exchange other than `member` is in flight. */
  othersOn(member: SocketMember): boolean {
    const first = this.first;
    return first !== null && (first !== member || member.nextOnSocket !== null);
  }

  /** The socket closed: every member is told, and leaves. */
  closed(logger: Logger): void {
    let m = this.first;
    this.first = null;
    while (m !== null) {
      const next = m.nextOnSocket;
      m.prevOnSocket = m.nextOnSocket = null;
      try {
        m.socketClosed();
      } catch (e) {
        logger.error('Internal error after a connection closed', e);
      }
      m = next;
    }
  }
}

const STATE: unique symbol = Symbol('tsgi.connection');

type WithState = { [STATE]?: ConnectionState };

/** The connection states of one server's sockets. */
export class SocketRegistry {
  constructor(private readonly logger: Logger) {}

  /** The state of `socket`, made (and its 'close' listener installed) at its first request. */
  of(socket: Socket): ConnectionState {
    const s = socket as Socket & WithState;
    let state = s[STATE];
    if (state === undefined) {
      const created = new ConnectionState();
      state = created;
      s[STATE] = created;
      socket.once('close', () => created.closed(this.logger));
    }
    return state;
  }

  /**
   * The state of an HTTP/2 session's connection, for its addresses and scope
   * options: kept on the session (its socket is reached only through a proxy),
   * without a list, since each stream hears its own close.
   */
  ofSession(session: Http2Session): ConnectionState {
    const s = session as Http2Session & WithState;
    return (s[STATE] ??= new ConnectionState());
  }
}
