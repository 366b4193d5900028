/**
 * --fd (uvicorn's flag): serve on a listening socket a parent process bound
 * and passed down, as systemd socket activation or a process manager does.
 * The parent here is Python (its socket and subprocess modules, pass_fds),
 * which binds a port or a unix socket, hands the descriptor to
 * `tsgi serve --fd N`, closes its own copy, and fetches a page through it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliRoot, fixtures, runCli } from './helpers/spawn-cli.js';

const PARENT = `
import os, socket, subprocess, sys, tempfile, urllib.request, http.client
family, node, tsgi = sys.argv[1:4]
if family == 'unix':
    path = os.path.join(tempfile.mkdtemp(), 'app.sock')
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
else:
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
s.listen(16)
child = subprocess.Popen([node, tsgi, 'serve', '--fd', str(s.fileno())] + sys.argv[4:], pass_fds=[s.fileno()], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
s.close()
line = ''
while 'Serving' not in line:
    line = child.stderr.readline()
    if line == '':
        sys.exit('tsgi exited before serving')
if family == 'unix':
    class UnixConnection(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(path)
    c = UnixConnection('localhost')
    c.request('GET', '/')
    print(c.getresponse().read().decode())
else:
    print(urllib.request.urlopen(f'http://127.0.0.1:{port}/', timeout=10).read().decode())
print(line.strip())
child.terminate()
child.wait()
`;

function viaParent(family: 'tcp' | 'unix', args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('python3', ['-c', PARENT, family, process.execPath, join(cliRoot, 'bin', 'tsgi.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('tsgi serve --fd', () => {
  it.each([
    ['node', 'asgi-app.ts', 'asgi |/'],
    ['pool', 'wsgi-app.ts', 'wsgi /'],
  ])('--server %s serves on the socket its parent bound', (server, app, body) => {
    const r = viaParent('tcp', ['--server', server, ...(server === 'pool' ? ['--threads', '1'] : []), join(fixtures, app)]);
    expect(r.status, r.stderr).toBe(0);
    const [page, serving] = r.stdout.trim().split('\n');
    expect(page).toBe(body);
    expect(serving).toMatch(new RegExp(`Serving .* with ${server} on http://127\\.0\\.0\\.1:\\d+$`));
  });

  it('--server node serves an inherited unix socket, named by its descriptor', () => {
    const r = viaParent('unix', ['--server', 'node', join(fixtures, 'asgi-app.ts')]);
    expect(r.status, r.stderr).toBe(0);
    const [page, serving] = r.stdout.trim().split('\n');
    expect(page).toBe('asgi |/');
    expect(serving).toMatch(/Serving .* with node on unix:\(file descriptor \d+\)$/);
  });

  it.each([
    [['--server', 'uws'], /^tsgi: error: --fd cannot be served: uWebSockets\.js v20\.30 binds its own listening sockets; use the node server$/m],
    [['--server', 'node', '--workers', '2'], /^tsgi: error: --fd needs workers 1 \(an inherited socket is served by one process\); got workers 2$/m],
    [['--server', 'node', '--uds', '/tmp/tsgi-fd-test.sock'], /^tsgi: error: --fd and uds "\/tmp\/tsgi-fd-test\.sock" are two places to listen; give one$/m],
  ])('%j: refused with one line, exit 2', async (flags, message) => {
    const r = await runCli(['serve', '--fd', '3', ...flags, join(fixtures, 'asgi-app.ts')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
