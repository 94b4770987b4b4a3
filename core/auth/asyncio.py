"""edgezmq.auth.asyncio, as pyzmq's zmq.auth.asyncio: AsyncioAuthenticator.

pyzmq answers ZAP from a task on the event loop; edgezmq answers on the
context's reactor whatever the front end, so this is the same policy with
pyzmq's name and signature (start() and stop() are plain calls there too).
"""
from __future__ import annotations

from typing import Any  # port-ok: CPython only

from .base import Authenticator

__all__ = ["AsyncioAuthenticator"]


class AsyncioAuthenticator(Authenticator):
    """pyzmq's asyncio authenticator: `loop` is accepted and not needed."""

    def __init__(self, context=None, loop: Any = None, encoding: str = "utf-8", log: Any = None):
        super().__init__(context, encoding, log)
        self.loop = loop
