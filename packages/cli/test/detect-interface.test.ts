import { describe, expect, it } from 'vitest';
import { checkInterface, detectInterface } from '../src/detect-interface.js';

describe('detectInterface (--interface auto)', () => {
  it('an object with a fetch() method is a fetch handler', () => {
    expect(detectInterface({ fetch: () => new Response('x') })).toEqual({ ok: true, interface: 'fetch' });
  });

  it('a class instance whose fetch is an own arrow property (as Hono apps) is a fetch handler', () => {
    class Router {
      fetch = (_req: Request) => new Response('x');
    }
    expect(detectInterface(new Router())).toEqual({ ok: true, interface: 'fetch' });
  });

  it('a fetch method on the prototype counts too', () => {
    class Handler {
      fetch(_req: Request) {
        return new Response('x');
      }
    }
    expect(detectInterface(new Handler())).toEqual({ ok: true, interface: 'fetch' });
  });

  it('an async function is ASGI-TS whatever its parameter count', () => {
    expect(detectInterface(async () => {})).toEqual({ ok: true, interface: 'asgi' });
    expect(detectInterface(async (_a: unknown, _b: unknown) => {})).toEqual({ ok: true, interface: 'asgi' });
    expect(detectInterface(async function named(_s: unknown, _r: unknown, _x: unknown) {})).toEqual({ ok: true, interface: 'asgi' });
  });

  it('a plain function of 3 parameters is ASGI-TS', () => {
    const app = (_scope: unknown, _receive: unknown, _send: unknown) => Promise.resolve();
    expect(detectInterface(app)).toEqual({ ok: true, interface: 'asgi' });
  });

  it('a plain function of 2 parameters is WSGI-TS', () => {
    function app(_environ: unknown, _startResponse: unknown) {
      return [];
    }
    expect(detectInterface(app)).toEqual({ ok: true, interface: 'wsgi' });
  });

  it('other parameter counts are refused with a hint to pass --interface', () => {
    for (const fn of [() => {}, (_a: unknown) => {}, (_a: unknown, _b: unknown, _c: unknown, _d: unknown) => {}, (..._args: unknown[]) => {}]) {
      const d = detectInterface(fn);
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.reason).toMatch(/--interface asgi\|wsgi\|fetch/);
    }
  });

  it('a function with a default parameter is counted by Function.length, so it may be refused', () => {
    const d = detectInterface((_environ: unknown, _startResponse: unknown = null) => []);
    expect(d).toMatchObject({ ok: false });
  });

  it('values that are not apps are refused, naming what they are', () => {
    expect(detectInterface(42)).toMatchObject({ ok: false, reason: expect.stringMatching(/not an app.*a number/) });
    expect(detectInterface(undefined)).toMatchObject({ ok: false, reason: expect.stringMatching(/undefined/) });
    expect(detectInterface(null)).toMatchObject({ ok: false, reason: expect.stringMatching(/null/) });
    expect(detectInterface({ handler() {} })).toMatchObject({ ok: false, reason: expect.stringMatching(/without a fetch\(\) method/) });
    expect(detectInterface({ fetch: 'not callable' })).toMatchObject({ ok: false });
  });
});

describe('checkInterface (explicit --interface)', () => {
  it('overrides the parameter count', () => {
    expect(checkInterface((..._args: unknown[]) => {}, 'asgi')).toEqual({ ok: true, interface: 'asgi' });
    expect(checkInterface(async () => {}, 'wsgi')).toEqual({ ok: true, interface: 'wsgi' });
  });

  it('accepts a bare function as a fetch handler', () => {
    expect(checkInterface((_req: Request) => new Response(''), 'fetch')).toEqual({ ok: true, interface: 'fetch' });
  });

  it('still refuses values that cannot be the named interface', () => {
    expect(checkInterface({ fetch() {} }, 'asgi')).toMatchObject({ ok: false, reason: expect.stringMatching(/not an ASGI-TS app/) });
    expect(checkInterface('x', 'fetch')).toMatchObject({ ok: false, reason: expect.stringMatching(/not a fetch handler/) });
  });
});
