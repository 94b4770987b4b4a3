"""The pyzmq-compatible Socket: options, endpoints, and blocking send/recv
that drive the context's reactor until they can return."""
import sys

from . import endpoint as E
from . import options as O
from . import patterns, security
from ._compat import const, ticks_diff, ticks_ms
from ._lazy import bind_one
from .errors import Again, ContextTerminated, ZMQError

_MICROPY = sys.implementation.name == "micropython"
_BUFFER_TYPES = (bytes, bytearray, memoryview)
# MicroPython: an instance __dict__ is read-only, so plain attributes are set
# past __setattr__ this way (works the same on CPython)
_setraw = object.__setattr__
# libzmq's numbers (core/constants.py) for the methods below: private consts
# cost no heap on MicroPython
_DONTWAIT = const(1)  # (constants.py has a module __getattr__: CPython never specialises C.NAME)
_SNDMORE = const(2)
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
_EINVAL = const(22)
_ENOTSOCK = const(88)
_CURVE = const(2)  # MECHANISM value
_ROUTER = const(6)
_DEALER = const(5)
_REQ = const(3)
_PUSH = const(8)


class Socket:
    # defaults as class attributes: an instance holds only what differs
    # (each attribute and each empty list costs heap on a device)
    closed = False
    rcvmore = 0
    sending_more = False
    _last_ep = ""  # LAST_ENDPOINT as a str: the endpoint dict's key, no bytes copy kept
    monitors = ()  # a list once monitor() is called
    inproc_names = ()  # a list once the socket binds an inproc name
    _config = None  # the connections' shared ConnectionConfig (connection_config)

    def __init__(self, ctx, socket_type):
        if not isinstance(socket_type, int):
            raise TypeError("an integer is required")  # as pyzmq: ctx.socket("PUB")
        patterns.info(socket_type)  # EINVAL for an unknown type
        r = _setraw
        if socket_type != _PUSH:  # the frame pool's slots, early on a heap not fragmented yet
            ctx.pool.fill()  # (a PUSH never gets a data frame: a device client keeps 2 KB)
        r(self, "ctx", ctx)  # (pyzmq's sock.context: __getattr__, no slot of its own)
        r(self, "socket_type", socket_type)
        r(self, "options", O.Options(socket_type))
        r(self, "pattern", patterns.create(self))
        r(self, "engines", set())
        r(self, "listeners", {})
        r(self, "connecters", {})
        # delivery counters (docs/reliability.md); dropped_hwm is the pattern's
        r(self, "stats", {
            "sent": 0, "received": 0, "dropped_linger": 0, "dropped_disconnect": 0, "connects": 0,
            "disconnects": 0, "handshake_failures": 0, "protocol_errors": 0, "heartbeat_timeouts": 0,
            "out_of_memory": 0,
        })

    # -- attribute-style options (sock.linger = 0) --------------------------
    def __setattr__(self, name, value):
        opt = O.NAMES.get(name)
        if opt is None and name.isupper():  # sock.LINGER as pyzmq spells it too
            opt = O.NAMES.get(name.lower())
        if opt is None:
            if not _MICROPY and name[0] != "_" and name not in self.__dict__:
                self.check_attribute(name)  # a misspelt option is AttributeError, as pyzmq
            _setraw(self, name, value)
        else:
            if (opt == _SUBSCRIBE or opt == _UNSUBSCRIBE) and isinstance(value, str):
                value = value.encode()  # `sock.subscribe = "topic"` encodes, as pyzmq's
            self.setsockopt(opt & 0xFF, value)

    def __getattr__(self, name):
        if name == "context":
            return self.ctx
        opt = O.NAMES.get(name)
        if opt is None and name.isupper():
            opt = O.NAMES.get(name.lower())
        if opt is None:
            # MicroPython: a convenience of sugar.py, bound the first time it is used (core/_lazy.py)
            if _MICROPY and name[0] != "_" or name == "__enter__" or name == "__exit__":
                if bind_one(Socket, "edgezmq.sugar", name):
                    return getattr(self, name)
            raise AttributeError(name)
        try:
            return self.getsockopt(opt & 0xFF)
        except ZMQError as e:  # a write-only option (SUBSCRIBE): no such attribute, as pyzmq
            if e.errno == _EINVAL:
                raise AttributeError("%s attribute is write-only" % name) from None
            raise

    # -- options ------------------------------------------------------------
    def setsockopt(self, option, value):
        self._check_open()
        with self.ctx.lock:
            _setraw(self, "_config", None)  # connections made from now on see the change
            if option == _SUBSCRIBE or option == _UNSUBSCRIBE:
                if not isinstance(value, _BUFFER_TYPES):
                    raise TypeError("unicode not allowed, use setsockopt_string")
                if self.socket_type != _SUB:  # XSUB subscribes by sending, as libzmq's
                    raise ZMQError(_EINVAL, "only SUB sockets subscribe")
                self.pattern.subscribe(bytes(value), option == _SUBSCRIBE)
                return
            if (option == 11 or option == 12 or 34 <= option <= 37) and not getattr(self.ctx.port, "tunes_streams", 0):
                raise ZMQError(_EINVAL, "the port cannot")  # SNDBUF, RCVBUF, TCP_KEEPALIVE*
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
            return self._last_ep.encode()
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
        if isinstance(topic, str):  # the method encodes, as pyzmq's (setsockopt does not)
            topic = topic.encode()
        self.setsockopt(_SUBSCRIBE, topic)

    # -- endpoints ------------------------------------------------------------
    def bind(self, addr):
        self._check_open()
        if isinstance(addr, bytes):
            addr = addr.decode()
        ep = E.parse(addr, True)
        with self.ctx.lock:
            address = E.transports.lookup(ep.transport).bind(self, ep, addr)
            _setraw(self, "_last_ep", address)
        return self

    def connect(self, addr):
        self._check_open()
        if isinstance(addr, bytes):
            addr = addr.decode()
        ep = E.parse(addr, False)
        with self.ctx.lock:
            c = E.transports.lookup(ep.transport).connect(self, ep, addr)
            if c is not None:
                self.connecters[addr] = c
            _setraw(self, "_last_ep", addr)
        return self

    # -- sessions (called by the transports) ------------------------------------
    def new_session(self, address, attach=False):
        """A session for one peer; attach=True joins the pattern now (queue on connect)."""
        from .session import Session

        s = Session(self, address, attach)
        if attach:
            s.active = self.pattern.attach(s)
        return s

    def queue_on_connect(self, address):
        """The session a connect() keeps across its connections, or None when
        this socket does not queue on connect (IMMEDIATE=1, or its type)."""
        if self.options.immediate or not patterns.info(self.socket_type)[4]:
            return None
        return self.new_session(address, True)

    def connection_config(self):
        """What a new connection takes from this socket's options: one object
        shared by its connections until an option changes (NULL without ZAP;
        the other mechanisms look at the context's ZAP handler each time)."""
        c = self._config
        if c is not None:
            return c
        from .zmtp.connection import ConnectionConfig

        o = self.options
        ctx = self.ctx
        t = self.socket_type
        # only what differs from ConnectionConfig's class defaults is set:
        # each instance attribute costs heap on a device
        c = ConnectionConfig()
        c.type_name = patterns.name(t)
        c.peers = patterns.peer_names(t)
        if t == _REQ or t == _DEALER or t == _ROUTER:
            c.send_identity = True
        row = security.info(o.mechanism)
        if o.mechanism:
            c.mechanism = row[0]
        if row[3] is not None:
            c.as_server = bool(getattr(o, row[3]))
        if o.identity:
            c.identity = o.identity
        if o.maxmsgsize != -1:
            c.maxmsgsize = o.maxmsgsize
        if o.heartbeat_ivl:
            c.heartbeat_ivl = o.heartbeat_ivl
        if o.heartbeat_ttl:
            c.heartbeat_ttl = o.heartbeat_ttl
        if o.heartbeat_timeout != -1:
            c.heartbeat_timeout = o.heartbeat_timeout
        c.pool = ctx.pool
        if getattr(ctx.port, "pool_small_frames", False) and o.mechanism != _CURVE:
            c.copy = ctx.port.copy  # short frames into pool slots: no allocation per message
        if o.mechanism or o.zap_domain:
            from .security.mechanism import MechanismConfig

            m = MechanismConfig()
            m.plain_username = o.plain_username
            m.plain_password = o.plain_password
            m.curve_publickey = o.curve_publickey or None
            m.curve_secretkey = o.curve_secretkey or None
            m.curve_serverkey = o.curve_serverkey or None
            m.zap_domain = o.zap_domain
            m.zap_available = "zeromq.zap.01" in ctx.inproc
            m.routing_id = o.identity
            if o.mechanism == _CURVE:
                m.crypto = ctx.port.crypto()
            c.mech_config = m
        else:
            _setraw(self, "_config", c)
        return c

    def monitor_event(self, event, address, value):
        if self.monitors:
            for m in self.monitors:
                m.emit(event, value, address)

    # -- sending --------------------------------------------------------------
    def send(self, data, flags=0, copy=True, track=False, routing_id=None, group=None):
        pat = self.pattern
        out = pat.fast_out
        if out is not None and not flags and type(data) is bytes and not self.sending_more:
            # the fast path: a one-frame message to the only peer of a
            # load-balancing socket (PUSH, DEALER) that has its connection,
            # or to a PUB's subscribers (fast_out is the Pub itself)
            ctx = self.ctx
            with ctx.mutex:  # (`with`: no KeyboardInterrupt between taking the lock and the block)
                if ctx.io_thread is None:
                    # cooperative: I/O progresses (accept, other peers), once per ms,
                    # as below; before the message is queued, so that running out
                    # of heap in it raises from a send that queued nothing
                    now = ticks_ms()
                    if now != ctx.coop_turn:
                        ctx.coop_turn = now
                        ctx.poll_nowait()
                if out is pat.fast_out and not self.closed and not ctx.terminated_flag and out.fast_send(data):
                    self.stats["sent"] += 1
                    return None if copy else self.tracker_for(data, track)
        if type(data) is not bytes:  # (the usual case: no isinstance calls)
            if isinstance(data, str):
                raise TypeError("unicode not allowed, use send_string")
            if not isinstance(data, _BUFFER_TYPES):
                try:
                    data = memoryview(data)
                except TypeError:
                    raise TypeError("expected bytes-like data, got %r" % type(data).__name__) from None
        more = 1 if flags & _SNDMORE else 0
        ctx = self.ctx
        with ctx.mutex:  # (_check_open under the lock decides)
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
                return None if copy else self.tracker_for(data, track)
            if flags & _DONTWAIT:
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
                    return None if copy else self.tracker_for(data, track)

    def _sent(self, more):
        if more or self.sending_more:  # (only when it changes: the first set takes heap, and the frame is queued)
            _setraw(self, "sending_more", bool(more))
        if not more:
            self.stats["sent"] += 1

    def send_multipart(self, msg_parts, flags=0, copy=True, track=False, **kwargs):
        parts = list(msg_parts)
        for p in parts:  # every frame checked before the first goes, as pyzmq
            if not isinstance(p, _BUFFER_TYPES):
                if isinstance(p, str):
                    raise TypeError("unicode not allowed, use send_string")
                memoryview(p)  # TypeError for what has no buffer
        n = len(parts)
        if n == 0:
            return None
        for i in range(n - 1):
            self.send(parts[i], _SNDMORE | flags, copy)
        return self.send(parts[-1], flags, copy, track)  # SNDMORE in flags leaves the message open, as pyzmq

    # -- receiving ------------------------------------------------------------
    def _recv_frame(self, flags):
        ctx = self.ctx
        with ctx.mutex:
            self._check_open()
            pattern = self.pattern
            if ctx.io_thread is None and self.options.conflate and not self.rcvmore:
                ctx.poll_nowait()  # cooperative: CONFLATE's last message is the one the kernel holds
            got = pattern.recv_frame()
            if got is None:
                if flags & _DONTWAIT:
                    ctx.poll_nowait()
                    got = pattern.recv_frame()
                    if got is None:
                        raise Again()
                else:
                    timeout = self.options.rcvtimeo
                    start = ticks_ms() if timeout > 0 else 0
                    if ctx.dirty:
                        # a request batched a moment ago goes out first: then the
                        # wait below blocks at once (Context.wait would take a
                        # turn that cannot return anything to this recv)
                        ctx.flush_dirty()
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
            if more or self.rcvmore:  # (only when it changes: the first set takes heap, and the frame is popped)
                _setraw(self, "rcvmore", 1 if more else 0)
            if not more:
                self.stats["received"] += 1
            return got

    def recv(self, flags=0, copy=True, track=False):
        pat = self.pattern
        inp = pat.fast_in
        if inp is not None and not flags and copy and not self.rcvmore:
            # the fast path: a message already queued by the only peer of a
            # fair-queueing socket (PULL, DEALER, SUB), no multipart under way
            q = inp.inq
            ctx = self.ctx
            with ctx.mutex:
                # (a pipe detached meanwhile still holds this socket's messages)
                if q.msgs and not self.closed and not ctx.terminated_flag:
                    i = q.head  # (FrameQueue.pop, written out: the hot path's one call less)
                    bufs = q.bufs
                    buf = bufs[i]
                    bufs[i] = None
                    n = q.lens[i]
                    more = q.more[i]
                    i += 1
                    q.head = 0 if i == len(bufs) else i
                    q.count -= 1
                    if more:
                        pat.fq_current = inp  # the rest comes from the same peer
                        _setraw(self, "rcvmore", 1)
                    else:
                        q.msgs -= 1
                        self.stats["received"] += 1
                        e = inp.engine
                        if e is not None and not e.reading:
                            hwm = self.options.rcvhwm
                            if hwm <= 0 or q.msgs <= hwm >> 1:
                                inp.consumed()  # paused at RCVHWM: resumes at half
                    if type(buf) is bytes and len(buf) == n:
                        return buf
                    data = bytes(memoryview(buf)[:n]) if len(buf) != n else bytes(buf)
                    ctx.pool.give(buf)
                    return data
        buf, n, more = self._recv_frame(flags)
        if type(buf) is bytes and len(buf) == n:
            data = buf
        else:
            data = bytes(memoryview(buf)[:n]) if len(buf) != n else bytes(buf)
            self.ctx.pool.give(buf)
        if not copy:  # a Frame: the bytes plus more and the connection's metadata
            from .frame import frame_of

            return frame_of(self, data, more)
        return data

    def recv_into(self, buffer, nbytes=0, flags=0):
        """Copy the next frame into buffer; returns the frame's full size
        (truncated to nbytes or the buffer's size, as libzmq's zmq_recv).
        (CPython checks the buffer first, as pyzmq: core/sugar.py)"""
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
            parts.append(self.recv(flags & ~_DONTWAIT, copy))
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
            for c in self.connecters.values():
                c.close_lingering(linger)
            self.connecters.clear()
            if self.inproc_names:
                from .transports import inproc

                for name in self.inproc_names:
                    inproc.unbind(self, name)
            for p in list(self.pattern.pipes):
                if p.active and not hasattr(p, "engine"):
                    p.close()  # inproc: nothing to linger for
            # the engines of a lingering connecter stay its own (its queue goes out first)
            engines = [e for e in self.engines if e.origin is None or not e.origin.lingering]
            ctx.linger_engines(self, engines, linger)
            for m in self.monitors:
                m.stop()
            ctx.forget_socket(self)
            ctx.wake_waiters()

    def __repr__(self):
        return "<edgezmq.Socket(%s) %s>" % (
            patterns.info(self.socket_type)[0],
            "closed" if self.closed else "open",
        )



if not _MICROPY:  # CPython: the conveniences are ordinary methods (core/sugar.py)
    from ._lazy import bind_all

    bind_all(Socket, "edgezmq.sugar").install_cpython(Socket)
