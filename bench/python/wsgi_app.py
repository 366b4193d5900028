"""The benchmark's WSGI app in Python (same routes as bench/apps/wsgi.ts), for gunicorn and waitress."""
import time

HELLO = b"Hello, world!"


def app(environ, start_response):
    if environ["PATH_INFO"] == "/block":
        time.sleep(0.01)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))])
    return [HELLO]
