/**
 * Streams a large upload and a large download through @tsgi/uws running in a
 * child process, sampling that process's resident memory, to show both
 * directions run in bounded memory (docs/architecture.md, "Backpressure end to end").
 *
 *   pnpm --filter @tsgi/uws big-transfer            # 1 GiB each way
 *   pnpm --filter @tsgi/uws big-transfer -- 256     # MiB each way
 *
 * The test suite runs a 256 MiB version through runBigTransfer().
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const MiB = 1024 * 1024;

export interface TransferResult {
  bytes: number;
  uploadMiBps: number;
  downloadMiBps: number;
  /** Highest RSS of the server process seen during the transfers. */
  maxRssMiB: number;
  /** RSS of the server process once listening, before any transfer. */
  idleRssMiB: number;
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Runs one upload and one download of `bytes` each against a fresh server process. */
export async function runBigTransfer(bytes: number): Promise<TransferResult> {
  const serverScript = fileURLToPath(new URL('./transfer-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', serverScript], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n')) resolve((JSON.parse(line!) as { port: number }).port);
      });
      child.once('exit', (code) => reject(new Error(`transfer server exited with code ${code}`)));
    });
    const idle = rssOf(child.pid!);
    let max = idle;
    const sampler = setInterval(() => (max = Math.max(max, rssOf(child.pid!))), 50);
    try {
      const t0 = performance.now();
      const uploaded = await upload(port, bytes);
      const t1 = performance.now();
      if (uploaded !== bytes) throw new Error(`server counted ${uploaded} of ${bytes} uploaded bytes`);
      const downloaded = await download(port, bytes);
      const t2 = performance.now();
      if (downloaded !== bytes) throw new Error(`downloaded ${downloaded} of ${bytes} bytes`);
      max = Math.max(max, rssOf(child.pid!));
      return {
        bytes,
        uploadMiBps: bytes / MiB / ((t1 - t0) / 1000),
        downloadMiBps: bytes / MiB / ((t2 - t1) / 1000),
        maxRssMiB: max / MiB,
        idleRssMiB: idle / MiB,
      };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
}

/**
 * POSTs `bytes` as a chunked body (uWS v20.30 refuses a Content-Length of
 * 10 digits or more, so a 1 GiB upload must be chunked), honoring the
 * socket's backpressure; returns the count the app reports.
 */
async function upload(port: number, bytes: number): Promise<number> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  let response = '';
  const done = new Promise<string>((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      response += d.toString('latin1');
      const end = response.indexOf('\r\n\r\n');
      const m = /content-length: (\d+)/i.exec(response);
      if (end !== -1 && m && response.length >= end + 4 + Number(m[1])) resolve(response.slice(end + 4));
    });
    socket.once('error', reject);
  });
  socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
  const block = Buffer.alloc(256 * 1024, 0x79);
  for (let left = bytes; left > 0; left -= block.length) {
    const piece = left >= block.length ? block : block.subarray(0, left);
    socket.write(`${piece.length.toString(16)}\r\n`);
    socket.write(piece);
    if (!socket.write('\r\n')) await new Promise((r) => socket.once('drain', r));
  }
  socket.write('0\r\n\r\n');
  const body = await done;
  socket.destroy();
  return Number(body);
}

/** GETs `bytes` and counts the body without keeping it. */
async function download(port: number, bytes: number): Promise<number> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write(`GET /download?${bytes} HTTP/1.1\r\nHost: x\r\n\r\n`);
  return new Promise((resolve, reject) => {
    let head = '';
    let inBody = false;
    let n = 0;
    socket.on('data', (d: Buffer) => {
      if (!inBody) {
        head += d.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        inBody = true;
        n = Buffer.byteLength(head, 'latin1') - (end + 4);
      } else {
        n += d.length;
      }
      if (n >= bytes) {
        socket.destroy();
        resolve(n);
      }
    });
    socket.once('error', reject);
    socket.once('close', () => resolve(n));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const mib = Number(process.argv[2] ?? 1024);
  const r = await runBigTransfer(mib * MiB);
  console.log(
    `${mib} MiB each way: upload ${r.uploadMiBps.toFixed(0)} MiB/s, download ${r.downloadMiBps.toFixed(0)} MiB/s, ` +
      `server RSS idle ${r.idleRssMiB.toFixed(1)} MiB, max ${r.maxRssMiB.toFixed(1)} MiB`,
  );
  if (r.maxRssMiB >= 150) {
    console.error('FAIL: server RSS reached 150 MiB');
    process.exit(1);
  }
}
