"""The WSGI conformance app of @tsgi/conformance, ported to Python.

Same endpoints and behavior as conformance-tests/apps/wsgi-app.ts, so that the
suite can be pointed at gunicorn or waitress:

    gunicorn --chdir conformance-tests/python wsgi_app:app -b 127.0.0.1:8000

Reports that cannot travel in the response itself go to the file store of reports.py (one JSON
file per token in $TSGI_CONFORMANCE_STATE_DIR, default
<tmp>/tsgi-conformance-state), read back with GET /report?token=T.
"""
import json
import os
import sys
import time
from urllib.parse import parse_qs

from reports import FIXTURE, describe_error, encode, read_record, record


def query(environ):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    return {k: v[0] for k, v in q.items()}


def plain(start_response, status, body, headers=(), content_type="text/plain"):
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))] + list(headers))
    return [body]


def as_json(start_response, value, status="200 OK"):
    return plain(start_response, status, json.dumps(encode(value)).encode(), content_type="application/json")


def content_length(environ):
    cl = environ.get("CONTENT_LENGTH", "")
    return int(cl) if cl.isdigit() else None


def read_all(environ):
    """The whole body: up to CONTENT_LENGTH, or to the end when the server terminates the input."""
    n = content_length(environ)
    inp = environ["wsgi.input"]
    if n is not None:
        return inp.read(n)
    return inp.read()


class Recorded:
    """A response iterable whose close() calls are counted in the report store."""

    def __init__(self, token, chunks, fail_after=None):
        self.token, self.chunks, self.fail_after, self.closes, self.next_after_close = token, chunks, fail_after, 0, False

    def __iter__(self):
        for i, c in enumerate(self.chunks):
            if self.closes:
                self.next_after_close = True
                record(self.token, {"closes": self.closes, "next_after_close": True})
            if self.fail_after is not None and i == self.fail_after:
                raise RuntimeError("conformance: raised while iterating")
            yield c
            time.sleep(0.001)

    def close(self):
        self.closes += 1
        record(self.token, {"closes": self.closes, "next_after_close": self.next_after_close})


def app(environ, start_response):
    p = environ.get("PATH_INFO", "")
    q = query(environ)
    if p == "/environ" or p.startswith("/environ/"):
        return as_json(start_response, environ)
    if p == "/report":
        data = read_record(q.get("token", ""))
        if data is None:
            return plain(start_response, "404 Not Found", b"no report")
        return plain(start_response, "200 OK", data.encode(), content_type="application/json")
    if p == "/echo":
        body = read_all(environ)
        return plain(start_response, "200 OK", body, content_type="application/octet-stream")
    if p == "/slow-then-echo":
        body = read_all(environ)
        time.sleep(int(q.get("ms", "50")) / 1000)
        return plain(start_response, "200 OK", body, content_type="application/octet-stream")
    if p == "/echo-size":
        size, n, inp = int(q.get("size", "3")), content_length(environ), environ["wsgi.input"]
        parts = []
        while n is None or sum(map(len, parts)) < n:
            want = size if n is None else min(size, n - sum(map(len, parts)))
            c = inp.read(want)
            if not c:
                break
            parts.append(c)
        return as_json(start_response, {"sizes": [len(c) for c in parts], "body": b"".join(parts)})
    if p == "/echo-readline":
        inp, lines = environ["wsgi.input"], []
        size = int(q["size"]) if "size" in q else None
        while True:
            line = inp.readline(size) if size is not None else inp.readline()
            if not line:
                break
            lines.append(line)
        return as_json(start_response, {"lines": lines})
    if p == "/echo-readlines":
        return as_json(start_response, {"lines": environ["wsgi.input"].readlines()})
    if p == "/echo-iter":
        return as_json(start_response, {"lines": list(environ["wsgi.input"])})
    if p == "/stream":
        n, size, delay = int(q.get("n", "3")), int(q.get("size", "8")), int(q.get("delay", "0"))
        start_response("200 OK", [("Content-Type", "application/octet-stream")])

        def gen():
            for i in range(n):
                yield bytes([97 + i % 26]) * size
                if delay:
                    time.sleep(delay / 1000)
        return gen()
    if p == "/chunks":
        sizes = [int(s) for s in q.get("sizes", "").split(",") if s]
        start_response("200 OK", [])
        return [b"z" * s for s in sizes]
    if p == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written-1;")
        write(b"written-2;")
        return [b"iterated"]
    if p == "/late-start":
        def gen():
            start_response("200 OK", [("Content-Type", "text/plain"), ("X-Late", "yes")])
            yield b"started late"
        return gen()
    if p == "/ignore-body":
        return plain(start_response, "200 OK", b"ok")
    if p == "/raise-before":
        raise RuntimeError("conformance: raised before start_response (SECRET-TRACE)")
    if p == "/raise-after":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b"partial"
            raise RuntimeError("conformance: raised while iterating")
        return gen()
    if p == "/exc-info":
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise RuntimeError("conformance: error before the body")
        except RuntimeError:
            start_response("500 Replaced By Exc Info", [("Content-Type", "text/plain"), ("Content-Length", "9")], sys.exc_info())
        return [b"recovered"]
    if p == "/exc-info-after":
        token = q.get("token")
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b"sent"
            try:
                raise RuntimeError("conformance: error after the body started")
            except RuntimeError:
                exc = sys.exc_info()
                try:
                    start_response("500 Too Late", [], exc)
                except Exception as e:
                    record(token, {"reraised": True, "same": e is exc[1], "error": describe_error(e)})
                    raise
                record(token, {"reraised": False})
        return gen()
    if p == "/start-twice":
        start_response("200 OK", [("Content-Type", "application/json")])
        try:
            start_response("201 Created", [])
        except Exception as e:
            return [json.dumps({"raised": True, "error": describe_error(e)}).encode()]
        return [json.dumps({"raised": False}).encode()]
    if p == "/no-start-response":
        return [b"never started"]
    if p == "/environ-meta":
        return as_json(start_response, {"plain": type(environ) is dict, "keys_are_str": all(isinstance(k, str) for k in environ)})
    if p == "/start-response-invalid":
        kind, token = q.get("kind", ""), q.get("token")
        bad = {
            "status-crlf": ("200 OK\r\nX-Injected: 1", [("Content-Type", "text/plain")]),
            "header-name-space": ("200 OK", [("Bad Name", "v")]),
            "header-value-crlf": ("200 OK", [("X-Bad", "a\r\nX-Injected: 1")]),
            "two-content-length": ("200 OK", [("Content-Length", "2"), ("Content-Length", "3")]),
        }[kind]
        try:
            start_response(*bad)
        except Exception as e:
            record(token, {"raised": True, "error": describe_error(e)})
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "7")], sys.exc_info())
            return [b"refused"]
        record(token, {"raised": False})
        return [b"ok"]
    if p == "/return-string":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return "a string is not a response"
    if p == "/close-generator":
        token = q.get("token")
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            try:
                for _ in range(2000):
                    yield b"x" * 65536
            finally:
                record(token, {"finally": True})
        return gen()
    if p == "/read-short":
        token = q.get("token")
        record(token, {"stage": "started"})
        try:
            body = read_all(environ)
        except Exception as e:
            record(token, {"raised": True, "error": describe_error(e)})
            raise
        record(token, {"raised": False, "body_len": len(body)})
        return plain(start_response, "200 OK", b"read")
    if p == "/status":
        code, reason = q.get("code", "200"), q.get("reason", "Custom Reason")
        body = b"" if code in ("204", "304") else f"status {code}".encode()
        hs = [] if code in ("204", "304") else [("Content-Length", str(len(body)))]
        start_response(f"{code} {reason}", hs)
        return [body]
    if p == "/headers":
        hs = [("X-Dup", "one"), ("X-Dup", "two"), ("X-Latin1", "caf\xe9"), ("X-Empty", ""), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
        return plain(start_response, "200 OK", b"headers", hs)
    if p == "/hop-by-hop":
        try:
            start_response("200 OK", [("Content-Type", "application/json"), ("Keep-Alive", "timeout=77, max=7")])
        except Exception as e:
            start_response("200 OK", [("Content-Type", "application/json")], sys.exc_info())
            return [json.dumps({"raised": True, "error": describe_error(e)}).encode()]
        return [json.dumps({"raised": False}).encode()]
    if p == "/content-length":
        declared, actual = q.get("declared", "0"), int(q.get("actual", "0"))
        start_response("200 OK", [("Content-Length", declared)])
        return [b"y" * actual]
    if p == "/head":
        return plain(start_response, "200 OK", b"hello world")
    if p == "/close":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Recorded(q.get("token"), [b"one;", b"two;", b"three"])
    if p == "/close-error":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Recorded(q.get("token"), [b"one;", b"two;", b"three"], fail_after=1)
    if p == "/close-slow":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Recorded(q.get("token"), [b"x" * 65536] * 2000)
    if p == "/file-wrapper":
        f = open(FIXTURE, "rb")
        start_response("200 OK", [("Content-Type", "text/plain")])
        if "wsgi.file_wrapper" in environ:
            return environ["wsgi.file_wrapper"](f, 1024)
        return iter(lambda: f.read(1024), b"")
    if p == "/errors":
        environ["wsgi.errors"].write("conformance: a line for wsgi.errors\n")
        environ["wsgi.errors"].writelines(["two\n", "lines\n"])
        environ["wsgi.errors"].flush()
        return plain(start_response, "200 OK", b"logged")
    if p == "/generator-empty-first":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b""
            yield b"after-empty"
        return gen()
    return plain(start_response, "404 Not Found", b"not found")
