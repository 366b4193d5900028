/**
 * Measures a large upload and a large streamed download through the pool
 * server running in a child process, sampling the child's RSS (main thread
 * and worker threads together) from /proc while bytes flow. Used by the test
 * suite (256 MiB) and by big-transfer.ts (1 GiB).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { once } from 'node:events';

/** What one measurement found. */
export interface TransferReport {
  bytes: number;
  threads: number;
  uploadMs: number;
  downloadMs: number;
  /** RSS of the idle server after start-up, MiB. */
  baselineRssMiB: number;
  /** Highest RSS sampled during the transfers, MiB. */
  maxRssMiB: number;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** Starts the server child (built pool, dist/) with `threads` worker threads and resolves with it and its URL. */
async function startServer(threads: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [new URL('./transfer-server.mjs', import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, THREADS: String(threads) },
  });
  let out = '';
  for await (const data of child.stdout!) {
    out += String(data);
    const nl = out.indexOf('\n');
    if (nl !== -1) return { child, url: (JSON.parse(out.slice(0, nl)) as { url: string }).url };
  }
  throw new Error('transfer server exited before it printed its URL');
}

function upload(url: string, bytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/upload`, { method: 'POST', headers: { 'Content-Length': String(bytes) }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += String(d)));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('error', reject);
    const block = Buffer.alloc(65536, 1);
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        const n = Math.min(block.byteLength, bytes - sent);
        sent += n;
        if (!req.write(n === block.byteLength ? block : block.subarray(0, n))) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

function download(url: string, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/download?bytes=${bytes}`, { agent: false }, (res) => {
      let got = 0;
      res.on('data', (d: Buffer) => (got += d.byteLength));
      res.on('end', () => resolve(got));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Uploads then downloads `bytes` through a fresh server child; throws if a byte count is off. */
export async function measureTransfer(bytes: number, threads = 1): Promise<TransferReport> {
  const { child, url } = await startServer(threads);
  try {
    const pid = child.pid!;
    const baselineRssMiB = rssMiB(pid);
    let maxRssMiB = baselineRssMiB;
    const sampler = setInterval(() => {
      maxRssMiB = Math.max(maxRssMiB, rssMiB(pid));
    }, 50);
    try {
      let t0 = performance.now();
      const echoed = await upload(url, bytes);
      const uploadMs = performance.now() - t0;
      if (echoed !== String(bytes)) throw new Error(`upload: the app read ${echoed} bytes of ${bytes}`);
      t0 = performance.now();
      const got = await download(url, bytes);
      const downloadMs = performance.now() - t0;
      if (got !== bytes) throw new Error(`download: got ${got} bytes of ${bytes}`);
      maxRssMiB = Math.max(maxRssMiB, rssMiB(pid));
      return { bytes, threads, uploadMs, downloadMs, baselineRssMiB, maxRssMiB };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}
