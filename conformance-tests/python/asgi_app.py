"""The ASGI conformance app of @tsgi/conformance, ported to Python.

Same endpoints and behavior as conformance-tests/apps/asgi-app.ts, so that the
suite can be pointed at uvicorn, hypercorn or daphne:

    uvicorn --app-dir conformance-tests/python asgi_app:app --port 8000

Reports that cannot travel in the response itself (what the app saw after the
client left) go to the file store of reports.py: one JSON file per token in
$TSGI_CONFORMANCE_STATE_DIR (default: <tmp>/tsgi-conformance-state), read back
over HTTP with GET /report?token=T.  See docs/conformance.md for the endpoint
list and the JSON encoding of byte strings ({"$bytes": latin-1 text}).
"""
import asyncio
import json
import os
from urllib.parse import parse_qs

from reports import FIXTURE, describe_error, encode, read_record, record

LIFESPAN = {"startup": False, "events": []}


def query(scope):
    q = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return {k: v[0] for k, v in q.items()}


def route(scope):
    path, root = scope.get("path", ""), scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root):] or "/"
    return path


async def respond(send, status, body=b"", headers=None, content_type=b"text/plain"):
    hs = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": hs + list(headers or [])})
    await send({"type": "http.response.body", "body": body})


async def respond_json(send, value, status=200):
    await respond(send, status, json.dumps(encode(value)).encode(), content_type=b"application/json")


async def read_body(receive):
    body, events = b"", []
    while True:
        ev = await receive()
        events.append(ev)
        if ev["type"] == "http.request":
            body += ev.get("body", b"")
            if not ev.get("more_body", False):
                return body, events
        else:
            return body, events


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan(scope, receive, send)
    if scope["type"] == "websocket":
        return await websocket(scope, receive, send)
    return await http(scope, receive, send)


async def lifespan(scope, receive, send):
    while True:
        ev = await receive()
        LIFESPAN["events"].append(ev["type"])
        if ev["type"] == "lifespan.startup":
            LIFESPAN["startup"] = True
            LIFESPAN["asgi"] = scope.get("asgi")
            LIFESPAN["state_keys_at_startup"] = sorted(scope["state"].keys()) if "state" in scope else None
            if "state" in scope:
                scope["state"]["conformance"] = "lifespan-state"
                scope["state"]["items"] = ["from-startup"]
            await send({"type": "lifespan.startup.complete"})
        elif ev["type"] == "lifespan.shutdown":
            record(os.environ.get("TSGI_CONFORMANCE_SHUTDOWN_TOKEN"), {"shutdown": True})
            await send({"type": "lifespan.shutdown.complete"})
            return


async def http(scope, receive, send):
    p, q = route(scope), query(scope)
    if p == "/scope" or p.startswith("/scope/"):
        return await respond_json(send, scope)
    if p == "/lifespan":
        return await respond_json(send, LIFESPAN)
    if p == "/state-mutate":
        state = scope.get("state")
        if state is None:
            return await respond_json(send, None)
        state["mutated"] = True
        return await respond_json(send, state)
    if p == "/report":
        data = read_record(q.get("token", ""))
        if data is None:
            return await respond(send, 404, b"no report")
        return await respond(send, 200, data.encode(), content_type=b"application/json")
    if p == "/echo":
        body, events = await read_body(receive)
        n = sum(1 for e in events if e["type"] == "http.request")
        return await respond(send, 200, body, [(b"x-events", str(n).encode())], b"application/octet-stream")
    if p == "/slow-then-echo":
        body, _ = await read_body(receive)
        await asyncio.sleep(int(q.get("ms", "50")) / 1000)
        return await respond(send, 200, body, content_type=b"application/octet-stream")
    if p == "/events":
        body, events = await read_body(receive)
        out = [{"type": e["type"], "keys": sorted(e.keys()), "body_type": type(e.get("body")).__name__ if "body" in e else None,
                "body_len": len(e.get("body", b"")), "more_body": e.get("more_body")} for e in events]
        return await respond_json(send, {"events": out, "body": body})
    if p == "/receive-after":
        token = q.get("token")
        await read_body(receive)
        await respond(send, 200, b"done")
        ev = await asyncio.wait_for(receive(), 30)
        return record(token, {"event": ev["type"]})
    if p == "/disconnect":
        token = q.get("token")
        record(token, {"stage": "started"})
        body, events = await read_body(receive)
        last = events[-1]["type"]
        while last != "http.disconnect":
            last = (await asyncio.wait_for(receive(), 30))["type"]
        return record(token, {"event": last, "body_len": len(body)})
    if p == "/send-after-disconnect":
        token = q.get("token")
        record(token, {"stage": "started"})
        while (await receive())["type"] != "http.disconnect":
            pass
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"late"})
        except Exception as e:
            return record(token, {"raised": True, "error": describe_error(e), "oserror": isinstance(e, OSError)})
        return record(token, {"raised": False})
    if p == "/stream":
        n, size, delay = int(q.get("n", "3")), int(q.get("size", "8")), int(q.get("delay", "0"))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/octet-stream")]})
        for i in range(n):
            await send({"type": "http.response.body", "body": bytes([97 + i % 26]) * size, "more_body": True})
            record(q.get("token"), {"sent": i + 1})
            if delay:
                await asyncio.sleep(delay / 1000)
        return await send({"type": "http.response.body", "body": b"", "more_body": False})
    if p == "/chunks":
        sizes = [int(s) for s in q.get("sizes", "").split(",") if s]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i, s in enumerate(sizes):
            await send({"type": "http.response.body", "body": b"z" * s, "more_body": True})
        return await send({"type": "http.response.body"})
    if p == "/ignore-body":
        return await respond(send, 200, b"ok")
    if p == "/raise-before":
        raise RuntimeError("conformance: raised before http.response.start (SECRET-TRACE)")
    if p == "/raise-after":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("conformance: raised after http.response.start")
    if p == "/no-response":
        return
    if p == "/start-then-raise":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        raise RuntimeError("conformance: raised after http.response.start, before any body")
    if p == "/extra-keys":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")], "x_future_key": 1})
        return await send({"type": "http.response.body", "body": b"ok", "x_future_key": True})
    if p == "/pathsend-missing":
        if "http.response.pathsend" not in (scope.get("extensions") or {}):
            return await respond(send, 404, b"pathsend not announced")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        return await send({"type": "http.response.pathsend", "path": FIXTURE + ".does-not-exist"})
    if p == "/zerocopysend":
        if "http.response.zerocopysend" not in (scope.get("extensions") or {}):
            return await respond(send, 404, b"zerocopysend not announced")
        with open(FIXTURE, "rb") as f:
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"20")]})
            await send({"type": "http.response.body", "body": b"0123456789", "more_body": True})
            return await send({"type": "http.response.zerocopysend", "file": f, "offset": 0, "count": 10})
    if p == "/status":
        code = int(q.get("code", "200"))
        body = b"" if code in (204, 304) or code < 200 else f"status {code}".encode()
        hs = [] if code in (204, 304) or code < 200 else [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": code, "headers": hs})
        return await send({"type": "http.response.body", "body": body})
    if p == "/headers":
        hs = [(b"x-dup", b"one"), (b"x-dup", b"two"), (b"x-latin1", b"caf\xe9"), (b"x-empty", b""), (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")]
        return await respond(send, 200, b"headers", hs)
    if p == "/content-length":
        declared, actual = int(q.get("declared", "0")), int(q.get("actual", "0"))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(declared).encode())]})
        return await send({"type": "http.response.body", "body": b"y" * actual})
    if p == "/head":
        return await respond(send, 200, b"hello world")
    if p == "/upper-header":
        return await respond(send, 200, b"ok", [(b"X-Upper-Case", b"kept")])
    if p == "/invalid":
        return await invalid(q.get("kind", ""), q.get("token"), send)
    if p == "/pathsend":
        if "http.response.pathsend" not in (scope.get("extensions") or {}):
            return await respond(send, 404, b"pathsend not announced")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        return await send({"type": "http.response.pathsend", "path": FIXTURE})
    if p == "/trailers":
        if "http.response.trailers" not in (scope.get("extensions") or {}):
            return await respond(send, 404, b"trailers not announced")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"trailer", b"x-checksum")], "trailers": True})
        await send({"type": "http.response.body", "body": b"with trailers"})
        return await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")], "more_trailers": False})
    if p == "/reason-phrase":
        if "http.response.reason_phrase" not in (scope.get("extensions") or {}):
            return await respond(send, 404, b"reason_phrase not announced")
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 299, "reason_phrase": q.get("reason", ""), "headers": headers})
        return await send({"type": "http.response.body", "body": b"ok"})
    if p == "/early-hint":
        if "http.response.early_hint" not in (scope.get("extensions") or {}):
            return await respond(send, 404, b"early_hint not announced")
        await send({"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload; as=style"]})
        return await respond(send, 200, b"hinted")
    return await respond(send, 404, b"not found")


INVALID = {
    "status-str": lambda: {"type": "http.response.start", "status": "200", "headers": []},
    "status-range": lambda: {"type": "http.response.start", "status": 1000, "headers": []},
    "header-name-str": lambda: {"type": "http.response.start", "status": 200, "headers": [("x-text", b"v")]},
    "header-value-crlf": lambda: {"type": "http.response.start", "status": 200, "headers": [(b"x-bad", b"a\r\nx-injected: 1")]},
    "unknown-type": lambda: {"type": "http.response.bogus"},
    "body-before-start": lambda: {"type": "http.response.body", "body": b"too early"},
    "debug-unannounced": lambda: {"type": "http.response.debug", "info": {"template": "x"}},
    "reason-phrase-crlf": lambda: {"type": "http.response.start", "status": 200, "reason_phrase": "OK\r\nx-injected: 1", "headers": []},
}


async def invalid(kind, token, send):
    """Sends one invalid event; records whether send() raised, then answers as well as it can."""
    started = False
    try:
        if kind == "body-str":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            started = True
            await send({"type": "http.response.body", "body": "text, not bytes", "more_body": True})
        elif kind == "start-twice":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            started = True
            await send({"type": "http.response.start", "status": 200, "headers": []})
        elif kind == "after-complete":
            await respond(send, 200, b"complete")
            started = None
            await send({"type": "http.response.body", "body": b"extra"})
        elif kind in INVALID:
            await send(INVALID[kind]())
        else:
            return await respond(send, 404, b"unknown kind")
    except Exception as e:
        record(token, {"raised": True, "error": describe_error(e)})
        result = json.dumps({"raised": True, "error": describe_error(e)}).encode()
    else:
        record(token, {"raised": False})
        result = json.dumps({"raised": False}).encode()
    if started is None:
        return
    if not started:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": result})


WS_INVALID = {
    "both": lambda: {"type": "websocket.send", "text": "both", "bytes": b"both"},
    "bytes-text": lambda: {"type": "websocket.send", "bytes": "text, not bytes"},
    "text-bytes": lambda: {"type": "websocket.send", "text": b"bytes, not text"},
    "close-code-reserved": lambda: {"type": "websocket.close", "code": 1005},
    "close-reason-long": lambda: {"type": "websocket.close", "code": 1000, "reason": "r" * 124},
    "accept-twice": lambda: {"type": "websocket.accept"},
}


async def websocket(scope, receive, send):
    p, q = route(scope), query(scope)
    token = q.get("token")
    ev = await receive()
    if ev["type"] != "websocket.connect":
        return record(token, {"first_event": ev["type"]})
    if p == "/ws/deny":
        return await send({"type": "websocket.close"})
    if p == "/ws/deny-response":
        if "websocket.http.response" not in (scope.get("extensions") or {}):
            return await send({"type": "websocket.close"})
        await send({"type": "websocket.http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain"), (b"x-denied", b"yes")]})
        return await send({"type": "websocket.http.response.body", "body": b"denied by app"})
    if p == "/ws/raise-before":
        raise RuntimeError("conformance: raised before websocket.accept")
    if p == "/ws/no-accept":
        return
    if p == "/ws/handshake-leave":
        record(token, {"stage": "started"})
        await asyncio.sleep(0.5)
        try:
            ev = await asyncio.wait_for(receive(), 2)
        except asyncio.TimeoutError:
            return record(token, {"event": "timeout"})
        try:
            await send({"type": "websocket.accept"})
        except Exception as e:
            return record(token, {"event": ev["type"], "code": ev.get("code"), "accept_raised": True})
        return record(token, {"event": ev["type"], "code": ev.get("code"), "accept_raised": False})
    if p == "/ws/invalid-handshake":
        kind = q.get("kind", "")
        events = {
            "subprotocol-not-offered": {"type": "websocket.accept", "subprotocol": "not-offered"},
            "protocol-header": {"type": "websocket.accept", "headers": [(b"sec-websocket-protocol", b"chat")]},
            "send-before-accept": {"type": "websocket.send", "text": "too early"},
        }
        try:
            if kind == "after-close":
                await send({"type": "websocket.close"})
                await send({"type": "websocket.accept"})
            else:
                await send(events[kind])
        except Exception as e:
            record(token, {"raised": True, "error": describe_error(e)})
            if kind != "after-close":
                await send({"type": "websocket.close"})
            return
        record(token, {"raised": False})
        return
    accept = {"type": "websocket.accept"}
    if p == "/ws/subprotocol" and scope.get("subprotocols"):
        accept["subprotocol"] = scope["subprotocols"][-1]
    if p == "/ws/headers":
        accept["headers"] = [(b"x-extra", b"accepted"), (b"set-cookie", b"ws=1")]
    await send(accept)
    if p == "/ws/scope":
        await send({"type": "websocket.send", "text": json.dumps(encode(scope))})
    elif p == "/ws/close":
        code = int(q.get("code", "1000"))
        return await send({"type": "websocket.close", "code": code, "reason": q.get("reason", "")})
    elif p == "/ws/raise-after":
        raise RuntimeError("conformance: raised after websocket.accept")
    elif p == "/ws/return":
        return
    elif p == "/ws/send-n":
        n, size = int(q.get("n", "3")), int(q.get("size", "4"))
        for i in range(n):
            await send({"type": "websocket.send", "bytes": bytes([i % 256]) * size})
        await send({"type": "websocket.send", "text": "done"})
    elif p == "/ws/invalid":
        try:
            await send({"type": "websocket.send", "text": "both", "bytes": b"both"})
            await send({"type": "websocket.send", "text": "raised: False"})
        except Exception as e:
            await send({"type": "websocket.send", "text": "raised: " + describe_error(e)})
    elif p == "/ws/invalid-event":
        kind = q.get("kind", "")
        try:
            await send(WS_INVALID[kind]())
        except Exception as e:
            record(token, {"raised": True, "error": describe_error(e)})
        else:
            record(token, {"raised": False})
        return await send({"type": "websocket.close", "code": 1000})
    elif p == "/ws/send-after-close":
        while True:
            ev = await receive()
            if ev["type"] == "websocket.disconnect":
                break
        try:
            await send({"type": "websocket.send", "text": "late"})
        except Exception as e:
            return record(token, {"raised": True, "error": describe_error(e), "oserror": isinstance(e, OSError)})
        return record(token, {"raised": False})
    # echo until the client leaves
    while True:
        ev = await receive()
        if ev["type"] == "websocket.receive":
            if ev.get("text") is not None:
                await send({"type": "websocket.send", "text": ev["text"]})
            else:
                await send({"type": "websocket.send", "bytes": ev["bytes"]})
        elif ev["type"] == "websocket.disconnect":
            again = None
            if q.get("again"):
                try:
                    again = (await asyncio.wait_for(receive(), 1))["type"]
                except asyncio.TimeoutError:
                    again = "timeout"
            return record(token, {"event": ev["type"], "code": ev.get("code"), "reason": ev.get("reason"), "keys": sorted(ev.keys()), "again": again})
