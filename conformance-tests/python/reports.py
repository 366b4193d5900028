"""What both Python conformance apps (asgi_app.py, wsgi_app.py) share.

How values cross JSON ({"$bytes": latin-1 text} for byte strings, see
conformance-tests/src/json-bytes.ts), and the file store of reports that
cannot travel in a response: one JSON file per token in
$TSGI_CONFORMANCE_STATE_DIR (default <tmp>/tsgi-conformance-state), read back
with GET /report?token=T. A module next to the apps, imported as `reports`:
every way of serving them (uvicorn --app-dir, gunicorn --chdir, cd into this
folder) puts this folder on sys.path.
"""
import json
from collections.abc import Sequence
import os
import tempfile

STATE_DIR = os.environ.get("TSGI_CONFORMANCE_STATE_DIR") or os.path.join(tempfile.gettempdir(), "tsgi-conformance-state")
FIXTURE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "apps", "fixtures", "file.txt"))


def encode(v):
    """JSON-safe form of any value; bytes become {"$bytes": latin-1 text}."""
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": bytes(v).decode("latin-1")}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [encode(x) for x in v]
    if isinstance(v, dict):
        return {str(k): encode(x) for k, x in v.items()}
    if isinstance(v, Sequence):
        # ASGI allows any iterable where it says "list" (hypercorn passes its own Headers sequence).
        return [encode(x) for x in v]
    return {"$type": type(v).__name__}


def record(token, data):
    """Stores `data` under `token` (nothing without a token); written whole, then renamed, so a reader never sees half."""
    if not token:
        return
    os.makedirs(STATE_DIR, exist_ok=True)
    tmp = os.path.join(STATE_DIR, f"{token}.json.tmp")
    with open(tmp, "w") as f:
        json.dump(encode(data), f)
    os.replace(tmp, os.path.join(STATE_DIR, f"{token}.json"))


def read_record(token):
    """The JSON text stored under `token`, or None."""
    try:
        with open(os.path.join(STATE_DIR, f"{os.path.basename(token)}.json")) as f:
            return f.read()
    except OSError:
        return None


def describe_error(e):
    return f"{type(e).__name__}: {e}"
