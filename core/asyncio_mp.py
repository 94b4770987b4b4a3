"""edgezmq.asyncio on MicroPython: awaitable sockets whose methods are
coroutines (MicroPython's asyncio has no Future class to return).

Without an I/O thread (always, on a device) a waiting coroutine polls the
reactor without blocking and yields to the loop between tries, backing off
to a few milliseconds while idle; RCVTIMEO/SNDTIMEO raise Again after that
long. CPython uses core/_future.py instead (Futures, as zmq.asyncio).
"""
import asyncio  # port-ok: both runtimes have asyncio

from . import constants as C
from ._compat import ticks_diff, ticks_ms
from .context import Context as _Context
from .errors import Again
from .poll import Poller as _Poller
from .socket import Socket as _Socket

_MAX_IDLE_S = 0.005


async def _nap(ctx, idle):
    if ctx.io_thread is not None and hasattr(asyncio, "get_running_loop"):
        try:  # the short timeout covers a change between the try and the wait
            await asyncio.wait_for(ctx.async_change(), 0.05)
        except asyncio.TimeoutError:
            pass
    else:
        await asyncio.sleep(idle)


class Socket(_Socket):
    async def _wait(self, fn, flags, timeout):
        ctx = self.ctx
        idle = 0.0
        start = ticks_ms()
        while True:
            try:
                return fn(flags | C.DONTWAIT)
            except Again:
                if flags & C.DONTWAIT or 0 <= timeout <= ticks_diff(ticks_ms(), start):
                    raise
            await _nap(ctx, idle)
            idle = min(_MAX_IDLE_S, idle * 2 + 0.0005)

    async def send(self, data, flags=0, copy=True, track=False, **kwargs):
        return await self._wait(lambda f: _Socket.send(self, data, f), flags, self.sndtimeo)

    async def recv(self, flags=0, copy=True, track=False):
        return await self._wait(lambda f: _Socket.recv(self, f), flags, self.rcvtimeo)

    async def send_multipart(self, parts, flags=0, copy=True, track=False, **kwargs):
        parts = list(parts)
        return await self._wait(lambda f: self._send_parts(parts, f), flags, self.sndtimeo)

    async def recv_multipart(self, flags=0, copy=True, track=False):
        return await self._wait(self._recv_parts, flags, self.rcvtimeo)

    # not _Socket.send_multipart/recv_multipart: they call self.send/recv, our coroutines
    def _send_parts(self, parts, flags):
        for p in parts[:-1]:
            _Socket.send(self, p, flags | C.SNDMORE)
        if parts:
            _Socket.send(self, parts[-1], flags)

    def _recv_parts(self, flags):
        parts = [_Socket.recv(self, flags)]
        while self.rcvmore:
            parts.append(_Socket.recv(self, flags & ~C.DONTWAIT))
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

    async def send_serialized(self, msg, serialize, flags=0, copy=True, **kwargs):
        return await self.send_multipart(serialize(msg), flags)

    async def recv_serialized(self, deserialize, flags=0, copy=True):
        return deserialize(await self.recv_multipart(flags))

    async def poll(self, timeout=None, flags=C.POLLIN):
        p = Poller()
        p.register(self, flags)
        return dict(await p.poll(timeout)).get(self, 0)


class Poller(_Poller):
    async def poll(self, timeout=None):
        start = ticks_ms()
        ctx = None
        for s, _ in self.sockets:
            if hasattr(s, "ctx"):
                ctx = s.ctx
        idle = 0.0
        while True:
            ready = _Poller.poll(self, 0)
            if ready or timeout == 0:
                return ready
            if timeout is not None and 0 <= timeout <= ticks_diff(ticks_ms(), start):
                return []
            if ctx is not None:
                await _nap(ctx, idle)
            else:
                await asyncio.sleep(idle)
            idle = min(_MAX_IDLE_S, idle * 2 + 0.0005)


class Context(_Context):
    _socket_class = Socket
    _instance = None
