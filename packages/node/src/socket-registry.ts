/**
 * What the server keeps per TCP connection: the HTTP exchanges in flight on
 * it (several at once when the client pipelines), each told when the socket
 * closes. node:http signals a lost client to the response on the wire only
 * ('close' of a ServerResponse not yet given the socket never fires), so the
 * socket's own 'close' is the one signal every exchange on it can rely on.
 * One listener per socket, however many requests it carries.
 */
import type { Socket } from 'node:net';
import type { Logger } from '@tsgi/core/server';

/** An exchange that must hear its socket close. */
export interface SocketMember {
  /** The socket closed (the client left, or the server closed it). Must not throw. */
  socketClosed(): void;
}

/** The members of every socket of one server. */
export class SocketRegistry {
  private readonly members = new WeakMap<Socket, Set<SocketMember>>();

  constructor(private readonly logger: Logger) {}

  /** Adds `member` to `socket`'s set; the first member installs the socket's 'close' listener. */
  join(socket: Socket, member: SocketMember): void {
    let set = this.members.get(socket);
    if (set === undefined) {
      const created = new Set<SocketMember>();
      set = created;
      this.members.set(socket, created);
      socket.once('close', () => {
        this.members.delete(socket);
        for (const m of [...created]) {
          try {
            m.socketClosed();
          } catch (e) {
            this.logger.error('Internal error after a connection closed', e);
          }
        }
        created.clear();
      });
    }
    set.add(member);
  }

  /** Removes `member` (its exchange is over). */
  leave(socket: Socket, member: SocketMember): void {
    this.members.get(socket)?.delete(member);
  }

  /** True when an exchange other than `member` is in flight on `socket`. */
  othersOn(socket: Socket, member: SocketMember): boolean {
    const set = this.members.get(socket);
    if (set === undefined) return false;
    return set.size > (set.has(member) ? 1 : 0);
  }
}
