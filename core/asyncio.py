"""edgezmq.asyncio: awaitable sockets, like zmq.asyncio.

CPython: the methods return asyncio Futures as pyzmq's do (core/_future.py):
they can be cancelled, take callbacks, honour RCVTIMEO/SNDTIMEO.

MicroPython's asyncio has no Future class, so there the methods are
coroutines (await them; asyncio.create_task() one to run it alongside).
Without an I/O thread a waiting coroutine polls the reactor without
blocking and yields to the loop between tries, backing off to a few
milliseconds while idle; RCVTIMEO/SNDTIMEO raise Again after that long.
"""
import sys

if sys.implementation.name != "micropython":
    from ._future import Context, Poller, Socket  # noqa: F401  # port-ok: CPython only
else:
    from .asyncio_mp import Context, Poller, Socket  # noqa: F401
