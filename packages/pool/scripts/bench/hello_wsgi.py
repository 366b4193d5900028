# The same sync hello-world as hello.mjs, for gunicorn (gthread) and waitress.
BODY = b"Hello, world!"


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))])
    return [BODY]
