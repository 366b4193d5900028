"""The benchmark's ASGI app in Python (same routes as bench/apps/asgi.ts), for uvicorn and hypercorn."""
import re

HELLO = b"Hello, world!"
# With a Content-Length, as the TypeScript servers add one to a single-chunk body on their own.
HELLO_HEADERS = [(b"content-type", b"text/plain"), (b"content-length", str(len(HELLO)).encode())]
CHUNK_SIZE = 65536
CHUNK = b"x" * CHUNK_SIZE


def bytes_param(query_string: bytes) -> int:
    m = re.search(rb"(?:^|&)bytes=(\d+)", query_string)
    return int(m.group(1)) if m else 0


async def app(scope, receive, send):
    if scope["type"] == "http":
        path = scope["path"]
        if path == "/download":
            left = bytes_param(scope["query_string"])
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/octet-stream")]})
            while left > 0:
                n = min(left, CHUNK_SIZE)
                left -= n
                await send({"type": "http.response.body", "body": CHUNK[:n], "more_body": left > 0})
            return
        if path == "/upload":
            total = 0
            while True:
                event = await receive()
                if event["type"] != "http.request":
                    return
                total += len(event.get("body", b""))
                if not event.get("more_body"):
                    break
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": str(total).encode()})
            return
        await send({"type": "http.response.start", "status": 200, "headers": HELLO_HEADERS})
        await send({"type": "http.response.body", "body": HELLO})
    elif scope["type"] == "websocket":
        while True:
            event = await receive()
            if event["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
            elif event["type"] == "websocket.receive":
                if event.get("bytes") is not None:
                    await send({"type": "websocket.send", "bytes": event["bytes"]})
                else:
                    await send({"type": "websocket.send", "text": event.get("text") or ""})
            else:
                return
