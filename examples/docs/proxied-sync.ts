import type { WsgiApplication } from '@tsgi/core';

/** The sync app of the deployment guide: tells who asked and under which prefix it is mounted. */
export const app: WsgiApplication = (environ, startResponse) => {
  const who = {
    REMOTE_ADDR: environ.REMOTE_ADDR,
    'wsgi.url_scheme': environ['wsgi.url_scheme'],
    SCRIPT_NAME: environ.SCRIPT_NAME,
    PATH_INFO: environ.PATH_INFO,
  };
  startResponse('200 OK', [['Content-Type', 'application/json']]);
  return [new TextEncoder().encode(`${JSON.stringify(who)}\n`)];
};
