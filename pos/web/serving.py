"""The app as `canteen serve` runs it with granian worker processes.

Each worker process builds its own app (:func:`granian_app`).  With several processes,
the kernel hands each new connection to one of them, not by load, and a keep-alive
connection then stays with that process: in a lunch rush, six of eight tills can end up
on one process (one core, one interpreter lock) while another idles.  Like a web
server's "max requests per keep-alive connection" (Apache's ``MaxKeepAliveRequests``,
nginx's ``keepalive_requests``), every ``N``-th answer of a process ends its connection
(``Connection: close``); the till's browser opens a new one with its next request, and
the kernel places it afresh.  A busy process answers more often, so it lets go of
connections sooner: the tills drift towards the quieter process.

The count is per process, not per connection (granian does not tell the app which
connection a request came on).  Nothing is lost by ending a connection after a complete
answer: the next request goes out on a new one.  Waitress forbids an app to set
``Connection``, so this applies to granian only.
"""
from __future__ import annotations

import itertools
import os
from typing import Any, Callable, Iterable

from pos.web import create_app

KEEPALIVE_REQUESTS_ENV = "CANTEEN_KEEPALIVE_REQUESTS"


class EndKeepAlive:
    """WSGI middleware: ``Connection: close`` on every ``every``-th answer of this process."""

    def __init__(self, app: Callable, every: int):
        if every < 1:
            raise ValueError("every must be at least 1")
        self.app, self.every = app, every
        self._answers = itertools.count(1)  # next() is atomic under the interpreter lock

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if next(self._answers) % self.every:
            return self.app(environ, start_response)

        def closing(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            return start_response(status, [*headers, ("Connection", "close")], exc_info)

        return self.app(environ, closing)


def granian_app():
    """granian's app factory (``pos.web.serving:granian_app``): :func:`pos.web.create_app`,
    with the keep-alive limit above when `canteen serve` runs several processes."""
    app = create_app()
    every = int(os.environ.get(KEEPALIVE_REQUESTS_ENV) or 0)
    if every > 0:
        app.wsgi_app = EndKeepAlive(app.wsgi_app, every)
    return app
