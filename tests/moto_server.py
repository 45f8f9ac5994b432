"""moto in server mode on 127.0.0.1, for tests that need real HTTP (presigned URLs, endpoints)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


@contextmanager
def moto_server() -> Iterator[str]:
    """Serve moto on a free port and yield its URL.

    What moto's ThreadedMotoServer does, with a 50 ms poll interval: its default half second is
    what every shutdown waits.
    """
    server = make_server(
        "127.0.0.1",
        0,
        DomainDispatcherApplication(create_backend_app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
