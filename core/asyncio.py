"""edgezmq.asyncio: awaitable sockets, like zmq.asyncio.

With an I/O thread (CPython default) a waiting coroutine is woken by the
context the moment anything changes; without one (MicroPython, or
io_threads=0) it polls the reactor without blocking and yields to the loop
between tries, backing off to a few milliseconds while idle.
"""
import asyncio  # port-ok: both runtimes have asyncio

from . import constants as C
from .context import Context as _Context
from .errors import Again
from .poll import Poller as _Poller
from .socket import Socket as _Socket

_MAX_IDLE_S = 0.005


class Socket(_Socket):
    async def _wait(self, fn, flags):
        ctx = self.ctx
        idle = 0.0
        while True:
            try:
                return fn(flags | C.DONTWAIT)
            except Again:
                if flags & C.DONTWAIT:
                    raise
            if ctx.io_thread is not None and hasattr(asyncio, "get_running_loop"):
                try:  # the short timeout covers a change between the try and the wait
                    await asyncio.wait_for(ctx.async_change(), 0.05)
                except asyncio.TimeoutError:
                    pass
            else:
                await asyncio.sleep(idle)
                idle = min(_MAX_IDLE_S, idle * 2 + 0.0005)

    async def send(self, data, flags=0, copy=True, track=False, **kwargs):
        return await self._wait(lambda f: _Socket.send(self, data, f), flags)

    async def recv(self, flags=0, copy=True, track=False):
        return await self._wait(lambda f: _Socket.recv(self, f), flags)

    async def send_multipart(self, parts, flags=0, copy=True, track=False, **kwargs):
        parts = list(parts)
        for i, p in enumerate(parts):
            await self.send(p, flags | (C.SNDMORE if i < len(parts) - 1 else 0))

    async def recv_multipart(self, flags=0, copy=True, track=False):
        parts = [await self.recv(flags)]
        while self.rcvmore:
            parts.append(await self.recv(flags))
        return parts

    async def send_string(self, u, flags=0, encoding="utf-8", **kwargs):
        return await self.send(u.encode(encoding), flags)

    async def recv_string(self, flags=0, encoding="utf-8"):
        return (await self.recv(flags)).decode(encoding)

    async def send_json(self, obj, flags=0, **kwargs):
        import json

        return await self.send(json.dumps(obj).encode(), flags)

    async def recv_json(self, flags=0, **kwargs):
        import json

        return json.loads(await self.recv(flags))

    async def poll(self, timeout=None, flags=C.POLLIN):
        p = Poller()
        p.register(self, flags)
        return dict(await p.poll(timeout)).get(self, 0)


class Poller(_Poller):
    async def poll(self, timeout=None):
        loop_time = asyncio.get_event_loop().time if hasattr(asyncio, "get_event_loop") else None
        deadline = None
        if timeout is not None and timeout >= 0 and loop_time is not None:
            deadline = loop_time() + timeout / 1000.0
        ctx = None
        for s, _ in self.sockets:
            if hasattr(s, "ctx"):
                ctx = s.ctx
        idle = 0.0
        while True:
            ready = _Poller.poll(self, 0)
            if ready or timeout == 0:
                return ready
            if deadline is not None and loop_time() >= deadline:
                return []
            if ctx is not None and ctx.io_thread is not None:
                left = 0.05 if deadline is None else min(0.05, max(0.0, deadline - loop_time()))
                try:
                    await asyncio.wait_for(ctx.async_change(), left)
                except asyncio.TimeoutError:
                    pass
            else:
                await asyncio.sleep(idle)
                idle = min(_MAX_IDLE_S, idle * 2 + 0.0005)


class Context(_Context):
    _socket_class = Socket
