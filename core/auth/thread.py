"""edgezmq.auth.thread, as pyzmq's zmq.auth.thread: ThreadAuthenticator.

pyzmq runs the ZAP handler in a thread of its own; edgezmq answers on the
context's reactor (the I/O thread, or whichever call drives a cooperative
context), so no thread is started. The name is kept so pyzmq programs run
unchanged.

    from edgezmq.auth.thread import ThreadAuthenticator
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.allow("127.0.0.1")
    auth.configure_plain(domain="*", passwords={"admin": "secret"})
    auth.configure_curve(domain="*", location="public_keys/")  # or CURVE_ALLOW_ANY
    ...
    auth.stop()
"""
from __future__ import annotations

from .base import Authenticator

__all__ = ["ThreadAuthenticator"]


class ThreadAuthenticator(Authenticator):
    """pyzmq's authenticator that runs beside the application; here it runs
    on the context's reactor (see the module docstring)."""

    thread = None
