/**
 * Steady keep-alive load, as a client of a restarting service sees it: `connections` loops each
 * send GET requests one after another and record every outcome. A request whose connection closed
 * before any byte of a response came is sent again once on a new connection, as HTTP/1.1 lets a
 * client do for an idempotent request (RFC 9112 section 9.3.1) and as browsers, Node's own docs
 * (`request.reusedSocket`) and proxies do: a server closing an idle keep-alive connection can
 * always cross a request already on the wire. Such retries are counted apart, so a test can
 * report them; a request that fails again, or gets anything but 200, is a failure.
 */
import { Agent, request } from 'node:http';

export interface Answer {
  status: number;
  body: string;
}

export interface SteadyLoad {
  /** Requests answered 200, with the body each got. */
  readonly ok: string[];
  /** Requests that got another status, or no answer even when sent again. */
  readonly failures: string[];
  /** Requests sent again after their connection closed before any response (on a reused connection / a new one). */
  readonly retried: { reused: number; fresh: number };
  stop(): Promise<void>;
}

function getOnce(port: number, path: string, agent: Agent | false): Promise<Answer | { error: string; reused: boolean }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ error: `response cut: ${e.message}`, reused: false }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, reused: req.reusedSocket }));
    req.end();
  });
}

/** Starts the load on 127.0.0.1:`port`. */
export function startSteadyLoad(port: number, connections: number, path = '/'): SteadyLoad {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const ok: string[] = [];
  const failures: string[] = [];
  const retried = { reused: 0, fresh: 0 };
  let running = true;
  const loop = async () => {
    while (running) {
      let answer = await getOnce(port, path, agent);
      // Closed before any response: nothing of it was processed, so it may be sent again, once.
      if ('error' in answer && (answer.error === 'ECONNRESET' || answer.error === 'EPIPE')) {
        if (answer.reused) retried.reused++;
        else retried.fresh++;
        // On a new connection: the agent's other idle connections may be closing too (a worker draining closes all its idle ones).
        answer = await getOnce(port, path, false);
      }
      if ('error' in answer) failures.push(answer.error);
      else if (answer.status !== 200) failures.push(`status ${answer.status}: ${answer.body.slice(0, 100)}`);
      else ok.push(answer.body);
    }
  };
  const loops = Array.from({ length: connections }, loop);
  return {
    ok,
    failures,
    retried,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}
