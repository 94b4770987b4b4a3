"""The pyzmq-compatible Socket: options, endpoints, and blocking send/recv
that drive the context's reactor until they can return."""
import sys

from . import constants as C
from . import endpoint as E
from . import options as O
from . import patterns
from ._compat import ticks_diff, ticks_ms
from .errors import Again, ContextTerminated, ZMQError
from .transport import Connecter, Listener

_MICROPY = sys.implementation.name == "micropython"
_BUFFER_TYPES = (bytes, bytearray, memoryview)
# MicroPython: an instance __dict__ is read-only, so plain attributes are set
# past __setattr__ this way (works the same on CPython)
_setraw = object.__setattr__


class _Raw:
    def __init__(self, obj):
        self.obj = obj

    def __setitem__(self, name, value):
        _setraw(self.obj, name, value)

    def __getitem__(self, name):
        return getattr(self.obj, name)


# counters kept in sock.stats besides sent/received (see docs/reliability.md)
_STAT_KEYS = (
    "dropped_linger", "dropped_disconnect", "connects", "disconnects",
    "handshake_failures", "protocol_errors", "heartbeat_timeouts",
)


class Socket:
    def __init__(self, ctx, socket_type):
        if not 0 <= socket_type <= 10:
            raise ZMQError(C.EINVAL, "invalid socket type %r" % (socket_type,))
        d = _Raw(self)
        d["ctx"] = ctx
        d["context"] = ctx
        d["socket_type"] = socket_type
        d["options"] = O.Options(socket_type)
        d["pattern"] = patterns.create(self)
        d["closed"] = False
        d["engines"] = set()
        d["listeners"] = {}
        d["connecters"] = {}
        d["inproc_names"] = []
        d["rcvmore"] = 0
        d["sending_more"] = False
        d["last_endpoint"] = b""
        d["monitors"] = []
        d["stats"] = {"sent": 0, "received": 0}
        for k in _STAT_KEYS:
            d["stats"][k] = 0

    # -- attribute-style options (sock.linger = 0) --------------------------
    def __setattr__(self, name, value):
        opt = O.NAMES.get(name)
        if opt is None:
            _setraw(self, name, value)
        else:
            self.setsockopt(opt, value)

    def __getattr__(self, name):
        opt = O.NAMES.get(name)
        if opt is None:
            if _MICROPY and name[0] != "_":  # a convenience left out of the class
                from .sugar import METHODS

                fn = METHODS.get(name)
                if fn is not None:
                    return lambda *a, **k: fn(self, *a, **k)
            raise AttributeError(name)
        return self.getsockopt(opt)

    @property
    def type(self):
        return self.socket_type

    # -- options ------------------------------------------------------------
    def setsockopt(self, option, value):
        self._check_open()
        with self.ctx.lock:
            if option == C.SUBSCRIBE or option == C.UNSUBSCRIBE:
                if self.socket_type not in (C.SUB, C.XSUB):
                    raise ZMQError(C.EINVAL, "only SUB sockets subscribe")
                if isinstance(value, str):
                    value = value.encode()
                self.pattern.subscribe(bytes(value), option == C.SUBSCRIBE)
                return
            if option == C.HWM:
                self.options.set(C.SNDHWM, value)
                self.options.set(C.RCVHWM, value)
                return
            self.options.set(option, value)

    def getsockopt(self, option):
        if option == C.TYPE:
            return self.socket_type
        if option == C.RCVMORE:
            return self.rcvmore
        if option == C.LAST_ENDPOINT:
            return self.last_endpoint
        if option == C.EVENTS:
            return self.poll_events()
        if option == C.MECHANISM:
            return self.options.mechanism
        if option == C.HWM:
            return self.options.sndhwm
        if option == C.FD:
            return self.ctx.waker_fd()
        self._check_open()
        return self.options.get(option)

    set = setsockopt
    get = getsockopt

    def subscribe(self, topic):
        self.setsockopt(C.SUBSCRIBE, topic)

    def unsubscribe(self, topic):
        self.setsockopt(C.UNSUBSCRIBE, topic)

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
                address = self.ctx.serial_bind(self, ep, addr)
            else:
                try:
                    lsock, address = self.ctx.port.listen(ep, self.options)
                except OSError as e:
                    self.monitor_event(C.EVENT_BIND_FAILED, addr, 0)
                    raise ZMQError(_os_errno(e, C.EADDRINUSE), "bind %s failed: %s" % (addr, e)) from None
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
                self.connecters[addr] = self.ctx.serial_connect(self, ep, addr)
            else:
                self.connecters[addr] = Connecter(self, ep)
            _setraw(self, "last_endpoint", addr.encode())
        return self

    def unbind(self, addr):
        if isinstance(addr, bytes):
            addr = addr.decode()
        with self.ctx.lock:
            lis = self.listeners.pop(addr, None)
            if lis is None:
                raise ZMQError(C.ENOENT, "not bound to %s" % addr)
            for k in [k for k, v in self.listeners.items() if v is lis]:
                del self.listeners[k]
            lis.close()

    def disconnect(self, addr):
        if isinstance(addr, bytes):
            addr = addr.decode()
        with self.ctx.lock:
            c = self.connecters.pop(addr, None)
            if c is None:
                raise ZMQError(C.ENOENT, "not connected to %s" % addr)
            eng = c.close()
            if eng is not None:
                eng.close()

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

    def send_string(self, u, flags=0, copy=True, encoding="utf-8", **kwargs):
        if not isinstance(u, str):
            raise TypeError("str objects only")
        return self.send(u.encode(encoding), flags)

    send_unicode = send_string

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
            return buf
        data = bytes(memoryview(buf)[:n]) if len(buf) != n else bytes(buf)
        self.ctx.pool.give(buf)
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
        parts = [self.recv(flags)]
        while self.rcvmore:
            parts.append(self.recv(flags & ~C.DONTWAIT))
        return parts

    def recv_string(self, flags=0, encoding="utf-8"):
        return self.recv(flags).decode(encoding)

    recv_unicode = recv_string

    # -- polling ------------------------------------------------------------
    def poll_events(self):
        ev = 0
        if self.closed:
            return 0
        if self.pattern.readable():
            ev |= C.POLLIN
        if self.pattern.writable():
            ev |= C.POLLOUT
        return ev

    # -- lifetime -------------------------------------------------------------
    def _check_open(self):
        # ETERM first: a call blocked when ctx.term() closed its socket gets
        # ContextTerminated, as in pyzmq
        if self.ctx.terminated_flag:
            raise ContextTerminated()
        if self.closed:
            raise ZMQError(C.ENOTSOCK, "socket is closed")

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

    def fileno(self):
        return self.ctx.waker_fd()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

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
