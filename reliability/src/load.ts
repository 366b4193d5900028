/**
 * A bounded load generator: `connections` keep-alive loops, each sending
 * GET /load/<n> one after another until told to stop, recording the
 * outcome of every request by its number. Lighter than wrk to install and
 * exact about which request got which answer, which the shutdown test needs.
 */
import { Agent, request } from 'node:http';

/** What happened to one request. */
export type LoadOutcome = { id: number; status: number; sentAt: number } | { id: number; error: string; sentAt: number };

/** A running load. */
export interface Load {
  /** Outcomes so far (appended as requests finish). */
  readonly outcomes: LoadOutcome[];
  /** Stops sending new requests; resolves once every loop has its last answer. */
  stop(): Promise<void>;
}

/** Starts `connections` request loops against 127.0.0.1:`port`. */
export function startLoad(port: number, connections: number): Load {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const outcomes: LoadOutcome[] = [];
  let next = 0;
  let running = true;
  const one = (id: number) =>
    new Promise<LoadOutcome>((resolve) => {
      const sentAt = performance.now();
      const req = request({ host: '127.0.0.1', port, path: `/load/${id}`, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ id, status: res.statusCode ?? 0, sentAt }));
        res.on('error', (e) => resolve({ id, error: e.message, sentAt }));
      });
      req.on('error', (e: NodeJS.ErrnoException) => resolve({ id, error: e.code ?? e.message, sentAt }));
      req.end();
    });
  const loop = async () => {
    while (running) {
      const out = await one(next++);
      outcomes.push(out);
      // A refused connection means the server is gone: do not spin on it.
      if ('error' in out) return;
    }
  };
  const loops = Array.from({ length: connections }, loop);
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}
