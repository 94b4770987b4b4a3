"""Socket conveniences a device seldom needs: string options and messages,
JSON, pickle, serializers, the monitor, bind_to_random_port, get_stats, poll,
unbind/disconnect/unsubscribe, fileno and `with`.

CPython installs them as ordinary Socket methods when socket.py is imported,
so the pyzmq surface is unchanged. MicroPython leaves them out of the class
(each method costs heap) and Socket.__getattr__ loads this module the first
time one of them is looked up and makes that one a method of the class.
"""
import sys

from . import constants as C
from . import patterns
from .errors import ZMQError

_MICROPY = sys.implementation.name == "micropython"


def setsockopt_string(self, option, value, encoding="utf-8"):
    if not isinstance(value, str):
        raise TypeError("strings only, not %r" % (value,))
    self.setsockopt(option, value.encode(encoding))


def getsockopt_string(self, option, encoding="utf-8"):
    from .options import NAMES

    # as pyzmq: only bytes options (SUBSCRIBE, LAST_ENDPOINT, IDENTITY, keys...) read as strings
    if option not in (6, 7, 32) and not any(c & 0x3FF == 0x200 | option for c in NAMES.values()):
        raise TypeError("option %d will not return a string" % option)
    return self.getsockopt(option).decode(encoding)


def bind_to_random_port(self, addr, min_port=49152, max_port=65536, max_tries=100):
    """A free port: the system's choice, or (with a range given) random tries
    in [min_port, max_port) as pyzmq, ZMQBindError when all are taken."""
    if isinstance(addr, bytes):
        addr = addr.decode()
    if min_port == 49152 and max_port == 65536:
        self.bind("%s:*" % addr)
        return int(self.last_endpoint.decode().rsplit(":", 1)[1])
    import random

    for _ in range(max_tries):
        port = random.randrange(min_port, max_port)
        try:
            self.bind("%s:%d" % (addr, port))
        except ZMQError as e:
            if e.errno != C.EADDRINUSE:
                raise
            continue
        return port
    if _MICROPY:  # zmq.error is CPython's (not in the device bundle)
        raise ZMQError(C.EADDRINUSE, "Could not bind socket to random port.")
    from .error import ZMQBindError  # port-ok: CPython only

    raise ZMQBindError("Could not bind socket to random port.")


def send_json(self, obj, flags=0, **kwargs):
    import json

    return self.send(json.dumps(obj).encode(), flags)


def send_pyobj(self, obj, flags=0, protocol=-1, **kwargs):
    import pickle  # port-ok: CPython only

    return self.send(pickle.dumps(obj, protocol if protocol >= 0 else pickle.HIGHEST_PROTOCOL), flags)


def send_serialized(self, msg, serialize, flags=0, copy=True, **kwargs):
    return self.send_multipart(serialize(msg), flags)


def recv_json(self, flags=0, **kwargs):
    import json

    return json.loads(self.recv(flags))


def recv_pyobj(self, flags=0):
    import pickle  # port-ok: CPython only

    return pickle.loads(self.recv(flags))


def recv_serialized(self, deserialize, flags=0, copy=True):
    return deserialize(self.recv_multipart(flags))


def get_stats(self):
    """A snapshot of the delivery counters: sent/received (whole messages),
    dropped_hwm (PUB at SNDHWM, ROUTER unroutable or at SNDHWM),
    dropped_linger, dropped_disconnect, connects, disconnects,
    handshake_failures, protocol_errors, heartbeat_timeouts, out_of_memory."""
    with self.ctx.lock:
        st = dict(self.stats)
        st["dropped_hwm"] = self.pattern.dropped
        return st


def poll(self, timeout=None, flags=C.POLLIN):
    from .poll import Poller

    p = Poller()
    p.register(self, flags)
    evts = dict(p.poll(timeout))
    return evts.get(self, 0)


def monitor(self, addr, events=C.EVENT_ALL):
    from .monitor import Monitor

    with self.ctx.lock:
        if addr is None:
            for m in self.monitors:
                m.stop()
            object.__setattr__(self, "monitors", ())
            return
        if not self.monitors:
            object.__setattr__(self, "monitors", [])
        self.monitors.append(Monitor(self, addr, events))


def get_monitor_socket(self, events=None, addr=None):
    """A PAIR connected to this socket's monitor; the same one while it is
    open (a second call does not start a second monitor), as pyzmq."""
    m = self.__dict__.get("_monitor_socket")
    if m is not None and not m.closed:
        return m
    if addr is None:
        addr = "inproc://monitor.s-%d" % id(self)
    self.monitor(addr, C.EVENT_ALL if events is None else events)
    m = self.ctx.socket(C.PAIR)
    m.connect(addr)
    self.__dict__["_monitor_socket"] = m
    return m


def disable_monitor(self):
    self.__dict__["_monitor_socket"] = None
    self.monitor(None, 0)


def send_string(self, u, flags=0, copy=True, encoding="utf-8", **kwargs):
    if not isinstance(u, str):
        raise TypeError("str objects only")
    return self.send(u.encode(encoding), flags)


def recv_string(self, flags=0, encoding="utf-8"):
    return self.recv(flags).decode(encoding)


def unsubscribe(self, topic):
    if isinstance(topic, str):
        topic = topic.encode()
    self.setsockopt(C.UNSUBSCRIBE, topic)


def unbind(self, addr):
    if isinstance(addr, bytes):
        addr = addr.decode()
    with self.ctx.lock:
        if addr.startswith("inproc://"):
            name = addr[9:]
            if name not in self.inproc_names:
                raise ZMQError(C.ENOENT, "not bound to %s" % addr)
            self.inproc_names.remove(name)
            from .transports import inproc

            inproc.unbind(self, name)
            return
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
        if addr.startswith("inproc://"):
            from .transports import inproc

            if not inproc.disconnect(self, addr[9:]):
                raise ZMQError(C.ENOENT, "not connected to %s" % addr)
            return
        c = self.connecters.pop(addr, None)
        if c is None:
            raise ZMQError(C.ENOENT, "not connected to %s" % addr)
        eng = c.close()
        if eng is not None:
            eng.close()


def check_attribute(self, name):
    """Socket.__setattr__ on CPython: a name that is neither an option nor
    defined by the class (or annotated, as pyzmq allows) raises AttributeError."""
    for cls in type(self).__mro__:
        if name in cls.__dict__ or name in getattr(cls, "__annotations__", {}):
            return
    raise AttributeError("%s has no such option: %s" % (type(self).__name__, name.upper()))


def tracker_for(self, data, track):
    """send(copy=False)'s MessageTracker, as pyzmq (core/tracker.py); None on
    MicroPython, which has no threading.Event."""
    if _MICROPY:
        return None
    from .tracker import sent_tracker  # port-ok: CPython only

    return sent_tracker(data, track, self.copy_threshold)


def fileno(self):
    return self.ctx.waker_fd()


def __enter__(self):
    return self


def __exit__(self, *exc):
    self.close()


# name -> function (pyzmq's aliases included)
METHODS = {
    "setsockopt_string": setsockopt_string,
    "getsockopt_string": getsockopt_string,
    "set_string": setsockopt_string,
    "setsockopt_unicode": setsockopt_string,
    "getsockopt_unicode": getsockopt_string,
    "get_string": getsockopt_string,
    "bind_to_random_port": bind_to_random_port,
    "send_json": send_json,
    "send_pyobj": send_pyobj,
    "send_serialized": send_serialized,
    "recv_json": recv_json,
    "recv_pyobj": recv_pyobj,
    "recv_serialized": recv_serialized,
    "get_stats": get_stats,
    "poll": poll,
    "monitor": monitor,
    "get_monitor_socket": get_monitor_socket,
    "disable_monitor": disable_monitor,
    "send_string": send_string,
    "send_unicode": send_string,
    "recv_string": recv_string,
    "recv_unicode": recv_string,
    "unsubscribe": unsubscribe,
    "unbind": unbind,
    "disconnect": disconnect,
    "fileno": fileno,
    "tracker_for": tracker_for,
    "check_attribute": check_attribute,
    "__enter__": __enter__,
    "__exit__": __exit__,
}


def _repr(self):
    """pyzmq's form: <edgezmq.Socket(zmq.PUSH) at 0x7f...> (and ' closed')."""
    cls = type(self)
    mod = _REPR_MODULES.get(cls.__module__, cls.__module__)
    return "<%s.%s(zmq.%s) at %s%s>" % (
        mod, cls.__name__, patterns.info(self.socket_type)[0], hex(id(self)),
        " closed" if self.closed else "",
    )


_REPR_MODULES = {"edgezmq.socket": "edgezmq", "edgezmq._future": "edgezmq.asyncio"}


def _dir(self):
    """dir() lists libzmq's option names too, as pyzmq's (an option edgezmq
    does not support is refused with EINVAL when set)."""
    t = C._TABLE
    opts = t[t.index(" AFFINITY=") : t.index(" HWM=")].split()
    return sorted(set(object.__dir__(self)) | {p.split("=")[0] for p in opts})


class SocketContext:
    """What bind() and connect() return on CPython, as pyzmq's: `with
    sock.bind(url):` unbinds at the end of the block (and `with
    sock.connect(url):` disconnects); the socket stays open."""

    def __init__(self, socket, kind, addr):
        self.socket = socket
        self.kind = kind
        self.addr = addr

    def __repr__(self):
        return "<SocketContext(%s=%r)>" % (self.kind, self.addr)

    def __enter__(self):
        return self.socket

    def __exit__(self, *exc):
        if self.socket.closed:
            return
        if self.kind == "bind":
            self.socket.unbind(self.addr)
        else:
            self.socket.disconnect(self.addr)


def _with_context(fn, kind):
    def method(self, addr):
        fn(self, addr)
        if kind == "bind":
            addr = self.last_endpoint.decode()  # the port a tcp://...:* bind got, as pyzmq
        elif isinstance(addr, bytes):
            addr = addr.decode()
        return SocketContext(self, kind, addr)

    method.__name__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


def recv_into(self, buffer, nbytes=0, flags=0):
    """Socket.recv_into with pyzmq's checks, all before waiting: TypeError (no
    buffer), BufferError (read-only, strided), ValueError (nbytes); any item
    size (array('Q')) is filled byte by byte."""
    view = memoryview(buffer)
    if view.readonly or not view.c_contiguous:  # port-ok: CPython only
        raise BufferError("recv_into needs a writable contiguous buffer")  # port-ok: CPython only
    if view.ndim != 1 or view.itemsize != 1:  # port-ok: CPython only
        view = view.cast("B")  # port-ok: CPython only
    if nbytes > view.nbytes:  # port-ok: CPython only
        raise ValueError("nbytes %d > buffer size %d" % (nbytes, len(view)))
    return self._recv_into(view, nbytes, flags)


def _with_copy_threshold(init):
    """Socket.__init__ taking pyzmq's copy_threshold keyword too."""

    def __init__(self, ctx, socket_type, *args, copy_threshold=None, **kwargs):
        init(self, ctx, socket_type, *args, **kwargs)
        if copy_threshold is not None:
            self.copy_threshold = copy_threshold

    __init__.__doc__ = init.__doc__
    return __init__


def _option_attribute(code, name):
    """sock.linger reads the option; a write-only one (SUBSCRIBE) is no
    attribute, as pyzmq. (Setting goes through Socket.__setattr__.)"""

    def get(self):
        try:
            return self.getsockopt(code)
        except ZMQError as e:
            if e.errno == C.EINVAL:
                raise AttributeError("%s attribute is write-only" % name) from None
            raise

    return property(get)


def _attributes(cls):
    """Options as class properties, so Socket needs no __getattr__ on CPython:
    a class with one cannot have its attribute reads specialised by the
    interpreter (3.11+), and the hot paths read a socket's attributes
    several times a message."""
    from . import options as O  # port-ok: CPython only

    for low, opt in O.NAMES.items():
        for name in (low, low.upper()):
            if not hasattr(cls, name):  # a method (subscribe) or a class default (rcvmore) stays
                setattr(cls, name, _option_attribute(opt & 0xFF, name))
    cls.context = property(lambda self: self.ctx)
    if "__getattr__" in cls.__dict__:
        del cls.__getattr__


def install_cpython(cls):
    """What CPython adds besides METHODS (core/_lazy.py binds those): pyzmq's
    SocketContext from bind/connect, shadows and copies, properties, repr and dir."""
    from . import shadow  # port-ok: CPython only
    from .tracker import COPY_THRESHOLD  # port-ok: CPython only

    cls.__init__ = _with_copy_threshold(cls.__init__)
    shadow.install(cls)  # Socket(sock), copy.copy(sock)...
    cls.copy_threshold = COPY_THRESHOLD  # pyzmq's: send(copy=False) copies below it
    cls.bind = _with_context(cls.bind, "bind")
    cls.connect = _with_context(cls.connect, "connect")
    cls._recv_into = cls.recv_into
    cls.recv_into = recv_into
    # pyzmq's Socket.type (MicroPython answers sock.type through the TYPE option)
    cls.type = property(lambda self: self.socket_type)
    cls.__repr__ = _repr
    cls.__dir__ = _dir
    _attributes(cls)
    from . import hotattrs, options, pool, session  # port-ok: CPython only
    from .patterns import base  # port-ok: CPython only
    from .security import mechanism  # port-ok: CPython only
    from .transports import stream  # port-ok: CPython only
    from .zmtp import connection  # port-ok: CPython only

    hotattrs.install(cls, options.Options, mechanism.Mechanism, session.Pipe, session.Session, base.Pattern,
                     stream.Engine, pool.FrameQueue, connection.Connection)
