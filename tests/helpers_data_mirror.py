"""A data mirror on loopback for tests: ``http.server`` serving a folder in a thread.

There is no internet here, so ``insole data fetch`` is tested against ``../shared/data`` served
on 127.0.0.1 as the ``INSOLE_DATA_MIRROR`` (same relative layout). Every request path is kept,
so a test can check which files were really downloaded.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: The shared public data sets (``../shared/data`` relative to the repository root).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.requests.append(self.path)
        super().do_GET()


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve `folder` over HTTP on 127.0.0.1 (free port) while the block runs.

    Yields
    ------
    (str, list of str)
        The base URL (``http://127.0.0.1:PORT``) and the list of request paths, appended to
        as requests arrive.
    """
    seen: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": seen})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, name="data-mirror", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
