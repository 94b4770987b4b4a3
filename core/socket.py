"""The pyzmq-compatible Socket: options, endpoints, and blocking send/recv
that drive the context's reactor until they can return."""
import sys

from . import constants as C
from . import endpoint as E
from . import options as O
from . import patterns
from ._compat import const, ticks_diff, ticks_ms
from .errors import Again, ContextTerminated, ZMQError
from .transports.connecter import Connecter

_MICROPY = sys.implementation.name == "micropython"
_BUFFER_TYPES = (bytes, bytearray, memoryview)
# MicroPython: an instance __dict__ is read-only, so plain attributes are set
# past __setattr__ this way (works the same on CPython)
_setraw = object.__setattr__
# libzmq's numbers (core/constants.py) for the methods below: private consts
# cost no heap on MicroPython
_SUB = const(2)
_XSUB = const(10)
_SUBSCRIBE = const(6)
_UNSUBSCRIBE = const(7)
_RCVMORE = const(13)
_FD = const(14)
_EVENTS = const(15)
_TYPE = const(16)
_SNDHWM = const(23)
_RCVHWM = const(24)
_LAST_ENDPOINT = const(32)
_MECHANISM = const(43)
_HWM = const(201)
_POLLIN = const(1)
_POLLOUT = const(2)
_EVENT_BIND_FAILED = const(0x10)
_EINVAL = const(22)
_ENOTSOCK = const(88)
_EADDRINUSE = const(98)


class Socket:
    def __init__(self, ctx, socket_type):
        if not 0 <= socket_type <= 10:
            raise ZMQError(_EINVAL, "invalid socket type %r" % (socket_type,))
        r = _setraw
        r(self, "ctx", ctx)
        r(self, "context", ctx)
        r(self, "socket_type", socket_type)
        r(self, "options", O.Options(socket_type))
        r(self, "pattern", patterns.create(self))
        r(self, "closed", False)
        r(self, "engines", set())
        r(self, "listeners", {})
        r(self, "connecters", {})
        r(self, "inproc_names", [])
        r(self, "rcvmore", 0)
        r(self, "sending_more", False)
        r(self, "last_endpoint", b"")
        r(self, "monitors", [])
        # delivery counters (docs/reliability.md); dropped_hwm is the pattern's
        r(self, "stats", {
            "sent": 0, "received": 0, "dropped_linger": 0, "dropped_disconnect": 0, "connects": 0,
            "disconnects": 0, "handshake_failures": 0, "protocol_errors": 0, "heartbeat_timeouts": 0,
        })

    # -- attribute-style options (sock.linger = 0) --------------------------
    def __setattr__(self, name, value):
        opt = O.NAMES.get(name)
        if opt is None:
            _setraw(self, name, value)
        else:
            self.setsockopt(opt & 0xFF, value)

    def __getattr__(self, name):
        opt = O.NAMES.get(name)
        if opt is None:
            # MicroPython: a convenience left out of the class (core/sugar.py)
            # becomes a method the first time it is looked up
            if _MICROPY and name[0] != "_" or name == "__enter__" or name == "__exit__":
                from .sugar import METHODS

                fn = METHODS.get(name)
                if fn is not None:
                    setattr(Socket, name, fn)
                    return getattr(self, name)
            raise AttributeError(name)
        return self.getsockopt(opt & 0xFF)

    # -- options ------------------------------------------------------------
    def setsockopt(self, option, value):
        self._check_open()
        with self.ctx.lock:
            if option == _SUBSCRIBE or option == _UNSUBSCRIBE:
                if self.socket_type != _SUB and self.socket_type != _XSUB:
                    raise ZMQError(_EINVAL, "only SUB sockets subscribe")
                if isinstance(value, str):
                    value = value.encode()
                self.pattern.subscribe(bytes(value), option == _SUBSCRIBE)
                return
            if option == _HWM:
                self.options.set(_SNDHWM, value)
                self.options.set(_RCVHWM, value)
                return
            self.options.set(option, value)

    def getsockopt(self, option):
        if option == _TYPE:
            return self.socket_type
        if option == _RCVMORE:
            return self.rcvmore
        if option == _LAST_ENDPOINT:
            return self.last_endpoint
        if option == _EVENTS:
            return self.poll_events()
        if option == _MECHANISM:
            return self.options.mechanism
        if option == _HWM:
            return self.options.sndhwm
        if option == _FD:
            return self.ctx.waker_fd()
        self._check_open()
        return self.options.get(option)

    set = setsockopt
    get = getsockopt

    def subscribe(self, topic):
        self.setsockopt(_SUBSCRIBE, topic)

    # -- endpoints ------------------------------------------------------------
    def bind(self, addr):
        self._check_open()
        ep = E.parse(addr, True)
        with self.ctx.lock:
            if ep.transport == "inproc":
                self.ctx.inproc_bind(ep.path, self)
                self.inproc_names.append(ep.path)
                address = "inproc://" + ep.path
            elif ep.transport == "serial":
                address = self.ctx.port.serial_attach(self.ctx, self, ep, addr, True)
            else:
                try:
                    lsock, address = self.ctx.port.listen(ep, self.options)
                except OSError as e:
                    self.monitor_event(_EVENT_BIND_FAILED, addr, 0)
                    raise ZMQError(_os_errno(e, _EADDRINUSE), "bind %s failed: %s" % (addr, e)) from None
                from .transports.listener import Listener

                self.listeners[address] = Listener(self, ep, lsock, address)
                if isinstance(addr, bytes):
                    addr = addr.decode()
                self.listeners[addr] = self.listeners[address]
            _setraw(self, "last_endpoint", address.encode())
        return self

    def connect(self, addr):
        self._check_open()
        ep = E.parse(addr, False)
        if isinstance(addr, bytes):
            addr = addr.decode()
        with self.ctx.lock:
            if ep.transport == "inproc":
                self.ctx.inproc_connect(ep.path, self)
            elif ep.transport == "serial":
                self.connecters[addr] = self.ctx.port.serial_attach(self.ctx, self, ep, addr, False)
            else:
                self.connecters[addr] = Connecter(self, ep)
            _setraw(self, "last_endpoint", addr.encode())
        return self

    # -- pipes (called by engines and the context) ------------------------------
    def connection_options(self, accepted, peer):
        return self.ctx.connection_options(self, accepted, peer)

    def attach_pipe(self, pipe):
        if self.closed:
            return False
        if not self.pattern.attach(pipe):
            return False
        self.ctx.wake_waiters()
        return True

    def detach_pipe(self, pipe):
        pipe.active = False
        self.pattern.detach(pipe)
        self.ctx.wake_waiters()

    def monitor_event(self, event, address, value):
        if self.monitors:
            for m in self.monitors:
                m.emit(event, value, address)

    # -- sending --------------------------------------------------------------
    def send(self, data, flags=0, copy=True, track=False, routing_id=None, group=None):
        if isinstance(data, str):
            raise TypeError("unicode not allowed, use send_string")
        if not isinstance(data, _BUFFER_TYPES):
            try:
                data = memoryview(data)
            except TypeError:
                raise TypeError("expected bytes-like data, got %r" % type(data).__name__) from None
        self._check_open()
        more = 1 if flags & C.SNDMORE else 0
        ctx = self.ctx
        with ctx.lock:
            self._check_open()
            pattern = self.pattern
            if ctx.io_thread is None and not self.sending_more:
                # cooperative mode: a send that never blocks (PUB) must still
                # let I/O progress (accept, connect, handshakes), once per ms
                now = ticks_ms()
                if ticks_diff(now, ctx.coop_turn) != 0:
                    ctx.coop_turn = now
                    ctx.poll_nowait()
            if pattern.send_frame(data, more):
                self._sent(more)
                return None
            if flags & C.DONTWAIT:
                raise Again()
            timeout = self.options.sndtimeo
            start = ticks_ms() if timeout > 0 else 0
            while True:
                wait = -1
                if timeout >= 0:
                    wait = timeout - ticks_diff(ticks_ms(), start)
                    if wait <= 0:
                        raise Again()
                ctx.wait(wait)
                self._check_open()
                if pattern.send_frame(data, more):
                    self._sent(more)
                    return None

    def _sent(self, more):
        _setraw(self, "sending_more", bool(more))
        if not more:
            self.stats["sent"] += 1

    def send_multipart(self, msg_parts, flags=0, copy=True, track=False, **kwargs):
        parts = list(msg_parts)
        for p in parts:
            if isinstance(p, str):
                raise TypeError("unicode not allowed, use send_string")
        n = len(parts)
        if n == 0:
            return None
        for i in range(n - 1):
            self.send(parts[i], C.SNDMORE | flags)
        return self.send(parts[-1], flags)  # SNDMORE in flags leaves the message open, as pyzmq

    # -- receiving ------------------------------------------------------------
    def _recv_frame(self, flags):
        self._check_open()
        ctx = self.ctx
        with ctx.lock:
            self._check_open()
            pattern = self.pattern
            got = pattern.recv_frame()
            if got is None:
                if flags & C.DONTWAIT:
                    ctx.poll_nowait()
                    got = pattern.recv_frame()
                    if got is None:
                        raise Again()
                else:
                    timeout = self.options.rcvtimeo
                    start = ticks_ms() if timeout > 0 else 0
                    while got is None:
                        wait = -1
                        if timeout >= 0:
                            wait = timeout - ticks_diff(ticks_ms(), start)
                            if wait <= 0:
                                raise Again()
                        ctx.wait(wait)
                        self._check_open()
                        got = pattern.recv_frame()
            more = got[2]
            _setraw(self, "rcvmore", 1 if more else 0)
            if not more:
                self.stats["received"] += 1
            return got

    def recv(self, flags=0, copy=True, track=False):
        buf, n, more = self._recv_frame(flags)
        if type(buf) is bytes and len(buf) == n:
            data = buf
        else:
            data = bytes(memoryview(buf)[:n]) if len(buf) != n else bytes(buf)
            self.ctx.pool.give(buf)
        if not copy:  # a Frame: the bytes plus more and the connection's metadata
            from .misc import frame_of

            return frame_of(self, data, more)
        return data

    def recv_into(self, buffer, nbytes=0, flags=0):
        """Copy the next frame into buffer; returns the frame's full size
        (truncated to nbytes or the buffer's size, as libzmq's zmq_recv)."""
        if nbytes < 0:
            raise ValueError("nbytes must be >= 0")
        room = len(buffer) if nbytes == 0 else min(nbytes, len(buffer))
        buf, n, more = self._recv_frame(flags)
        k = n if n < room else room
        self.ctx.port.copy(buffer, 0, buf, 0, k)
        self.ctx.pool.give(buf)
        return n

    def recv_multipart(self, flags=0, copy=True, track=False):
        parts = [self.recv(flags, copy)]
        while self.rcvmore:
            parts.append(self.recv(flags & ~C.DONTWAIT, copy))
        return parts

    # -- polling ------------------------------------------------------------
    def poll_events(self):
        ev = 0
        if self.closed:
            return 0
        if self.pattern.readable():
            ev |= _POLLIN
        if self.pattern.writable():
            ev |= _POLLOUT
        return ev

    # -- lifetime -------------------------------------------------------------
    def _check_open(self):
        # ETERM first: a call blocked when ctx.term() closed its socket gets
        # ContextTerminated, as in pyzmq
        if self.ctx.terminated_flag:
            raise ContextTerminated()
        if self.closed:
            raise ZMQError(_ENOTSOCK, "socket is closed")

    def close(self, linger=None):
        if self.closed:
            return
        ctx = self.ctx
        with ctx.lock:
            _setraw(self, "closed", True)
            if linger is None:
                linger = self.options.linger
            for lis in set(self.listeners.values()):
                lis.close()
            self.listeners.clear()
            orphans = []
            for c in self.connecters.values():
                e = c.close()
                if e is not None:
                    orphans.append(e)
            self.connecters.clear()
            for name in self.inproc_names:
                ctx.inproc_unbind(name, self)
            for p in list(self.pattern.pipes):
                if p.active and not hasattr(p, "engine"):
                    p.close()
            ctx.linger_engines(self, list(self.engines), linger)
            for m in self.monitors:
                m.stop()
            ctx.forget_socket(self)
            ctx.wake_waiters()

    def __repr__(self):
        return "<edgezmq.Socket(%s) %s>" % (
            C.SOCKET_TYPE_NAMES[self.socket_type].decode(),
            "closed" if self.closed else "open",
        )


def _os_errno(e, default):
    n = e.args[0] if e.args and isinstance(e.args[0], int) else default
    return n


if not _MICROPY:  # CPython: the conveniences are ordinary methods (core/sugar.py)
    from .sugar import install

    install(Socket)
