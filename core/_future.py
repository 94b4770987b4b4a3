"""edgezmq.asyncio on CPython: methods return asyncio Futures, as zmq.asyncio.

A call that can finish at once (a send with room, a recv with a message
waiting) returns a Future that is already done, as pyzmq's do; the others
queue per socket in call order, and one pump task per socket finishes them
as the context reports changes (ctx.async_change() with the I/O thread,
polling with a short backoff without one). RCVTIMEO/SNDTIMEO become timers
that fail the Future with Again; cancelling a Future drops its request before
it takes a message. MicroPython has no Future: core/asyncio.py keeps
coroutines there.
"""
from __future__ import annotations

import asyncio  # port-ok: CPython only (core/asyncio.py imports this module off MicroPython)
import select  # port-ok: CPython only
from collections import deque
from typing import Any, Callable  # port-ok: CPython only

from . import constants as C
from .context import Context as _Context
from .errors import Again, ZMQError
from .poll import Poller as _Poller
from .socket import Socket as _Socket

_MAX_IDLE_S = 0.005  # without an I/O thread: the longest nap between tries
_SAFETY_S = 0.05  # with one: wake up this often even if no change was reported
_setraw = object.__setattr__


def _loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop_policy().get_event_loop()


def _set(fut: asyncio.Future, value: Any = None) -> None:
    if not fut.done():
        fut.set_result(value)


def _fail(fut: asyncio.Future, exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


async def _next_change(ctx, loop, idle: float) -> None:
    """Return when the context may have changed (or after a short while)."""
    waiter = loop.create_future()
    if ctx.io_thread is not None and not ctx.closed:
        change = ctx.async_change()
        change.add_done_callback(lambda f: _set(waiter))
        handle = loop.call_later(_SAFETY_S, _set, waiter)
    else:
        change = None
        handle = loop.call_later(idle, _set, waiter)
    try:
        await waiter
    finally:
        handle.cancel()
        if change is not None:
            change.cancel()  # the context drops it at its next change


class _Event:
    """One queued send or recv: its Future, the call to finish it, its timer."""

    __slots__ = ("future", "call", "timer")

    def __init__(self, future, call, timer):
        self.future = future
        self.call = call
        self.timer = timer


class Socket(_Socket):
    """A Socket whose send/recv/poll methods return Futures."""

    _recv_futures: deque | None = None
    _send_futures: deque | None = None
    _poll_futures: set | None = None
    _pump: asyncio.Task | None = None

    def __init__(self, context=None, socket_type: int = -1, io_loop=None, _from_socket=None, **kwargs):
        if isinstance(context, _Socket):
            context, _from_socket = None, context
        if _from_socket is not None:
            # a view of an existing socket: the same state under Future-returning methods
            _setraw(self, "__dict__", _from_socket.__dict__)
            from .shadow import _SHADOWS

            _SHADOWS[self] = _from_socket  # pyzmq's _shadow, _shadow_obj
        else:
            super().__init__(context, socket_type, **kwargs)
        if self.__dict__.get("_recv_futures") is None:
            _setraw(self, "_recv_futures", deque())
            _setraw(self, "_send_futures", deque())
            _setraw(self, "_poll_futures", set())

    @classmethod
    def from_socket(cls, socket: _Socket, io_loop=None) -> Socket:
        """An asyncio view of a blocking socket (pyzmq's shadow)."""
        return cls(_from_socket=socket)

    # -- queueing ---------------------------------------------------------------
    def _queue(self, queue: deque, call: Callable[[], Any], timeout_ms: int) -> asyncio.Future:
        loop = _loop()
        f = loop.create_future()
        timer = None
        if timeout_ms >= 0:
            timer = loop.call_later(timeout_ms / 1000.0, _fail, f, Again())
        ev = _Event(f, call, timer)
        queue.append(ev)
        f.add_done_callback(lambda _f: self._forget(queue, ev))
        self._start_pump(loop)
        return f

    @staticmethod
    def _forget(queue: deque, ev: _Event) -> None:
        if ev.timer is not None:
            ev.timer.cancel()
        try:
            queue.remove(ev)
        except ValueError:
            pass

    def _start_pump(self, loop) -> None:
        p = self._pump
        if p is None or p.done() or p.get_loop() is not loop:
            _setraw(self, "_pump", loop.create_task(self._run_pump(loop)))

    def _finish(self, queue: deque) -> bool:
        """Finish the oldest live request of queue if it can be. -> progressed"""
        while queue and queue[0].future.done():
            queue.popleft()
        if not queue:
            return False
        ev = queue[0]
        try:
            result = ev.call()
        except Again:
            return False
        except Exception as e:  # noqa: BLE001 - handed to the awaiting caller
            queue.popleft()
            _fail(ev.future, e)
            return True
        queue.popleft()
        _set(ev.future, result)
        return True

    async def _run_pump(self, loop) -> None:
        idle = 0.0
        ctx = self.ctx
        while self._recv_futures or self._send_futures:
            if self.closed:
                self._cancel_all()
                return
            progressed = self._finish(self._send_futures) | self._finish(self._recv_futures)
            if progressed:
                idle = 0.0
                await asyncio.sleep(0)  # let the awaiting task run before the next one
                continue
            if not (self._recv_futures or self._send_futures):
                return
            await _next_change(ctx, loop, idle)
            idle = min(_MAX_IDLE_S, idle * 2 + 0.0005)

    def _cancel_all(self) -> None:
        for q in (self._recv_futures, self._send_futures):
            while q:
                ev = q.popleft()
                if not ev.future.done():
                    try:
                        ev.future.cancel()
                    except RuntimeError:  # its loop is closed
                        pass
        for f in list(self._poll_futures):
            if not f.done():
                try:
                    f.cancel()
                except RuntimeError:
                    pass

    # -- receiving --------------------------------------------------------------
    def _add_recv(self, call: Callable[[int], Any], flags: int) -> asyncio.Future:
        if flags & C.DONTWAIT or not self._recv_futures:
            try:  # finish at once when it can
                value = call(flags | C.DONTWAIT)
            except Again as e:
                if flags & C.DONTWAIT:
                    return _done(exc=e)
            except Exception as e:  # noqa: BLE001 - handed to the awaiting caller
                return _done(exc=e)
            else:
                return _done(value)
        return self._queue(self._recv_futures, lambda: call(flags | C.DONTWAIT), self.rcvtimeo)

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> asyncio.Future:
        return self._add_recv(lambda f: _Socket.recv(self, f, copy, track), flags)

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> asyncio.Future:
        return self._add_recv(lambda f: self._recv_parts(f, copy, track), flags)

    def _recv_parts(self, flags: int, copy: bool, track: bool) -> list:
        # not _Socket.recv_multipart: that calls self.recv, which is ours
        parts = [_Socket.recv(self, flags, copy, track)]
        while self.rcvmore:
            parts.append(_Socket.recv(self, flags & ~C.DONTWAIT, copy, track))
        return parts

    def recv_into(self, buf, *, nbytes: int = 0, flags: int = 0) -> asyncio.Future:
        return self._add_recv(lambda f: _Socket.recv_into(self, buf, nbytes, f), flags)

    def _deserialize(self, recvd: asyncio.Future, load: Callable[[Any], Any]) -> asyncio.Future:
        """A Future of load(what recvd gives); cancelling it cancels recvd."""
        f = recvd.get_loop().create_future()

        def chain(_):
            if f.done():
                return
            if recvd.cancelled():
                f.cancel()
            elif recvd.exception() is not None:
                f.set_exception(recvd.exception())
            else:
                try:
                    f.set_result(load(recvd.result()))
                except Exception as e:  # noqa: BLE001 - handed to the awaiting caller
                    f.set_exception(e)

        def cancel(_):
            if f.cancelled() and not recvd.done():
                recvd.cancel()

        recvd.add_done_callback(chain)
        f.add_done_callback(cancel)
        return f

    def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> asyncio.Future:
        return self._deserialize(self.recv(flags), lambda b: b.decode(encoding))

    recv_unicode = recv_string

    def recv_json(self, flags: int = 0, **kwargs) -> asyncio.Future:
        import json

        return self._deserialize(self.recv(flags), lambda b: json.loads(b, **kwargs))

    def recv_pyobj(self, flags: int = 0) -> asyncio.Future:
        import pickle

        return self._deserialize(self.recv(flags), pickle.loads)

    def recv_serialized(self, deserialize: Callable, flags: int = 0, copy: bool = True) -> asyncio.Future:
        return self._deserialize(self.recv_multipart(flags, copy), deserialize)

    # -- sending ----------------------------------------------------------------
    def _add_send(self, call: Callable[[int], Any], flags: int) -> asyncio.Future:
        if not self._send_futures:
            try:
                value = call(flags | C.DONTWAIT)
            except Again as e:
                if flags & C.DONTWAIT:
                    return _done(exc=e)
            except Exception as e:  # noqa: BLE001 - handed to the awaiting caller
                return _done(exc=e)
            else:
                return _done(value)
        return self._queue(self._send_futures, lambda: call(flags | C.DONTWAIT), self.sndtimeo)

    def send(self, data, flags: int = 0, copy: bool = True, track: bool = False, **kwargs) -> asyncio.Future:
        return self._add_send(lambda f: _Socket.send(self, data, f, copy, track, **kwargs), flags)

    def send_multipart(self, msg_parts, flags: int = 0, copy: bool = True, track: bool = False, **kwargs) -> asyncio.Future:
        parts = list(msg_parts)
        for p in parts:  # every frame checked before the first goes, as pyzmq
            if isinstance(p, str):
                raise TypeError("unicode not allowed, use send_string")
        return self._add_send(lambda f: self._send_parts(parts, f, copy, track), flags)

    def _send_parts(self, parts: list, flags: int, copy: bool, track: bool) -> None:
        # not _Socket.send_multipart: that calls self.send, which is ours
        n = len(parts)
        for i in range(n - 1):
            _Socket.send(self, parts[i], C.SNDMORE | flags, copy, track)
        if n:
            _Socket.send(self, parts[-1], flags, copy, track)

    # send_string/json/pyobj/serialized (core/sugar.py) return what send gives: a Future

    # -- polling ----------------------------------------------------------------
    def poll(self, timeout: int | None = None, flags: int = C.POLLIN) -> asyncio.Future:
        """A Future of the events (flags) ready within timeout ms."""
        if self.closed:
            raise ZMQError(C.ENOTSUP)
        p = Poller()
        p.register(self, flags)
        polled = p.poll(timeout)
        f = polled.get_loop().create_future()
        self._poll_futures.add(f)

        def unwrap(_):
            if f.done():
                return
            if polled.cancelled():
                f.cancel()
            elif polled.exception() is not None:
                f.set_exception(polled.exception())
            else:
                f.set_result(dict(polled.result()).get(self, 0))

        def done(_):
            self._poll_futures.discard(f)
            if not polled.done():
                polled.cancel()

        polled.add_done_callback(unwrap)
        f.add_done_callback(done)
        return f

    def close(self, linger: int | None = None) -> None:
        if not self.closed and self._recv_futures is not None:
            self._cancel_all()
        super().close(linger)


def _done(value: Any = None, exc: BaseException | None = None) -> asyncio.Future:
    f = _loop().create_future()
    if exc is not None:
        f.set_exception(exc)
    else:
        f.set_result(value)
    return f


def _from_select(ev: int) -> int:
    out = C.POLLIN if ev & select.POLLIN else 0
    if ev & select.POLLOUT:
        out |= C.POLLOUT
    if ev & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
        out |= C.POLLERR
    return out


class Poller(_Poller):
    """A Poller whose poll() returns a Future of [(socket_or_fd, events)]."""

    def poll(self, timeout: int | None = -1) -> asyncio.Future:  # type: ignore[override]
        loop = _loop()
        f = loop.create_future()
        if timeout == 0:
            try:
                f.set_result(_Poller.poll(self, 0))
            except Exception as e:  # noqa: BLE001 - handed to the awaiting caller
                f.set_exception(e)
            return f
        loop.create_task(self._watch(loop, f, timeout))
        return f

    def _zmq_ready(self, ctx) -> list:
        if ctx is not None and ctx.io_thread is None:
            with ctx.lock:
                ctx.poll_nowait()
        return self._ready([])

    def _step(self, f: asyncio.Future, ctx, hits: dict, raw, deadline: float | None, loop) -> bool:
        """Resolve f if anything is ready or the time is up. -> resolved"""
        try:
            if raw is not None:  # plain fds are looked at now too, as zmq_poll(0) does
                for fd, ev in raw.poll(0):
                    hits[fd] = hits.get(fd, 0) | _from_select(ev)
            ready = self._zmq_ready(ctx) + list(hits.items())
        except Exception as e:  # noqa: BLE001 - handed to the awaiting caller
            _fail(f, e)
            return True
        if ready or (deadline is not None and loop.time() >= deadline):
            _set(f, ready)
            return True
        return False

    async def _watch(self, loop, f: asyncio.Future, timeout: int | None) -> None:
        deadline = None if timeout is None or timeout < 0 else loop.time() + timeout / 1000.0
        ctx = None
        raw = []  # (fd, flags) of plain file descriptors
        for s, flags in self.sockets:
            if hasattr(s, "poll_events"):
                ctx = s.ctx
            else:
                raw.append((s if isinstance(s, int) else s.fileno(), flags))
        hits = {}
        wake = [None]  # the Future the watch sleeps on

        def hit(fd, ev):
            hits[fd] = hits.get(fd, 0) | ev
            if wake[0] is not None:
                _set(wake[0])

        rawpoll = select.poll() if raw else None
        for fd, flags in raw:
            rawpoll.register(fd, (select.POLLIN if flags & C.POLLIN else 0) | (select.POLLOUT if flags & C.POLLOUT else 0))
            if flags & C.POLLIN:
                loop.add_reader(fd, hit, fd, C.POLLIN)
            if flags & C.POLLOUT:
                loop.add_writer(fd, hit, fd, C.POLLOUT)
        f.add_done_callback(lambda _f: wake[0] is not None and _set(wake[0]))
        idle = 0.0
        try:
            while not f.done():
                waiter = wake[0] = loop.create_future()
                change = None
                if ctx is not None and ctx.io_thread is not None and not ctx.closed:
                    change = ctx.async_change()  # before looking: a change after this wakes us
                    change.add_done_callback(lambda _c, w=waiter: _set(w))
                try:
                    if self._step(f, ctx, hits, rawpoll, deadline, loop):
                        return
                    nap = _SAFETY_S if change is not None or ctx is None else idle
                    if deadline is not None:
                        nap = min(nap, max(0.0, deadline - loop.time()))
                    handle = loop.call_later(nap, _set, waiter)
                    try:
                        await waiter
                    finally:
                        handle.cancel()
                finally:
                    if change is not None:
                        change.cancel()  # the context drops it at its next change
                idle = min(_MAX_IDLE_S, idle * 2 + 0.0005)
        finally:
            for fd, flags in raw:
                if flags & C.POLLIN:
                    loop.remove_reader(fd)
                if flags & C.POLLOUT:
                    loop.remove_writer(fd)



class Context(_Context):
    """A Context whose sockets are edgezmq.asyncio.Socket."""

    _socket_class = Socket
    _instance = None  # its own: Context.instance() of edgezmq stays a blocking Context
