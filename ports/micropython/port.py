"""MicroPython port: select.poll poller, non-blocking sockets with
MicroPython's errno quirks, no threads, a small frame pool, viper copy.

Runs on the unix port, on boards with a network stack (ESP32, Pico W,
STM32 with LAN) and on serial-only boards: `socket` is imported on the first
tcp/ipc connect or bind, since a port without a network stack (qemu, a Pico
without Wi-Fi) has no such module. Nothing here imports CPython-only modules.
"""
import errno
import os
import select

from micropython import const

from ..._lazy import bind_one

_EAGAIN = errno.EAGAIN
# connect() in progress: EINPROGRESS (unix, lwIP), EAGAIN on some lwIP builds,
# ETIMEDOUT is what old ESP32 builds raise for a non-blocking connect
_IN_PROGRESS = (errno.EINPROGRESS, errno.EAGAIN, getattr(errno, "EALREADY", 114), errno.ETIMEDOUT)
# select's event bits are MicroPython's own (MP_STREAM_POLL_*), the same on every port
_POLLIN = const(1)
_POLLOUT = const(4)
_POLLERR = const(8 | 16)  # ERR | HUP
_IPPROTO_TCP = const(6)
_TCP_NODELAY = const(1)


class Poller:
    """select.poll keyed by the polled object; events map back to handlers.

    Each registered object owns one reusable [handler, r, w, e] list, so a
    poll allocates only its result list (the reactor unpacks the four items
    at once; a slot refilled by a nested poll only refreshes readiness).
    """

    def __init__(self, port):
        self.port = port
        self.p = select.poll()
        self.by_obj = {}
        self.out = []

    def register(self, h, read=True, write=False):
        o = h.pobj
        self.by_obj[o] = [h, 0, 0, 0]
        mask = (_POLLIN if read else 0) | (_POLLOUT if write else 0)
        try:
            self.p.register(o, mask)
        except MemoryError:
            # select.poll may have left a half-made entry that its next poll
            # would dereference: a second try completes it, else it is dropped
            try:
                self.p.register(o, mask)
            except MemoryError:
                del self.by_obj[o]
                # the unix port's select.poll keeps a pollfd array beside its map
                # (POSIX optimisations): there, unregistering that entry would
                # dereference NULL too; on boards it is how the entry is dropped
                if __import__("sys").platform not in ("linux", "darwin"):
                    self.p.unregister(o)
                raise

    def modify(self, h, read=True, write=False):
        o = h.pobj
        slot = self.by_obj.get(o)
        if slot is None or slot[0] is not h:
            return
        self.p.modify(o, (_POLLIN if read else 0) | (_POLLOUT if write else 0))

    def unregister(self, h):
        o = h.pobj
        slot = self.by_obj.get(o)
        if slot is not None and slot[0] is h:
            del self.by_obj[o]
            try:
                self.p.unregister(o)
            except (KeyError, ValueError, OSError):
                pass

    def poll(self, timeout_ms):
        """-> the ready [handler, r, w, e] slots in one reused list, ended by
        None when it is longer than this poll's events (no list per poll)."""
        out = self.out
        k = 0
        errs = self.port._errs
        if errs:
            errs.clear()
        by_obj = self.by_obj
        for o, ev in self.p.ipoll(timeout_ms):
            slot = by_obj.get(o)
            if slot is None:
                continue
            e = ev & _POLLERR
            if e:
                try:
                    errs.append(o)
                except MemoryError:
                    continue  # (out of heap: seen again by the next poll, as the rest)
            if k < len(out):
                out[k] = slot
            else:
                try:
                    out.append(slot)  # (grows to the most events one poll ever had)
                except MemoryError:
                    break
            slot[1] = ev & _POLLIN
            slot[2] = ev & _POLLOUT
            slot[3] = e
            k += 1
        if k < len(out):
            out[k] = None
        return out

    def close(self):
        for o in list(self.by_obj):
            try:
                self.p.unregister(o)
            except (KeyError, ValueError, OSError):
                pass
        self.by_obj.clear()


class _NoLock:
    """The condition the core asks for. No threads here: the core only enters
    it (`with ctx.lock`); wait/notify belong to the I/O thread a port without
    threads never starts."""

    def __enter__(self):
        return self

    def __exit__(self, t, v, tb):  # not *a: that packs a tuple on every `with`
        return False


_NOLOCK = _NoLock()


_LAZY = ("listen", "accept", "unlink_ipc")


def _nothing(*a):
    return None


class MicroPythonPort:
    """The port interface (see ports/cpython/port.py) on MicroPython.

    pool_count x pool_size bytes are preallocated per context; frames that do
    not fit come from the heap (heap_ok) and a MemoryError closes only that
    connection. Set heap_ok=False (and MAXMSGSIZE) for a hard memory bound.
    """

    name = "micropython"
    default_io_threads = 0
    pool_small_frames = True  # short frames land in pool slots (see FrameDecoder._body)
    batch_bytes = 0  # every message is written at once: no batch grows on the heap

    def __init__(self, pool_count=4, pool_size=512, heap_ok=True, rx_size=512):
        self.pool_count = pool_count
        self.pool_size = pool_size
        self.heap_ok = heap_ok
        self.rx_size = rx_size
        self._errs = []  # objects polled with ERR/HUP in the last poll
        self._crypto = None
        self.copy = copy

    # -- reactor pieces ----------------------------------------------------
    def poller(self):
        return Poller(self)

    def close_poller(self, p):
        p.close()

    def condition(self):
        return _NOLOCK

    # no threads: no waker and no I/O thread (one function object for the three)
    waker = start_io_thread = stop_io_thread = _nothing

    def __getattr__(self, name):
        # binding, accepting and ipc files live in listen.py, bound the first
        # time a program binds (a client never does): core/_lazy.py
        if name not in _LAZY or not bind_one(MicroPythonPort, "edgezmq.ports.micropython.listen", name):
            raise AttributeError(name)
        return getattr(self, name)

    # -- streams -----------------------------------------------------------
    def connect(self, ep):
        import socket  # here, not at the top: serial-only ports have no socket module

        if ep.transport == "ipc":
            af_unix = _af_unix()
            if af_unix is None:
                raise OSError(errno.EOPNOTSUPP, "ipc needs AF_UNIX")
            s = socket.socket(af_unix, socket.SOCK_STREAM)
            target = _unix_addr(ep.path)
        else:
            target = _tcp_addr(ep.host, ep.port)
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            _nodelay(s)
        s.setblocking(False)
        try:
            s.connect(target)
        except OSError as e:
            if e.errno not in _IN_PROGRESS:
                s.close()
                raise
        return s

    def connect_error(self, s):
        """0 when the connect finished; MicroPython has no SO_ERROR, so a
        connect that failed shows as ERR/HUP in the poll that woke us."""
        if s in self._errs:
            return errno.ECONNREFUSED
        return 0

    def read_into(self, s, buf):
        try:
            n = s.readinto(buf)
        except OSError as e:
            if e.errno == _EAGAIN:
                return -1
            raise
        return -1 if n is None else n

    def write(self, s, data):
        try:
            n = s.write(data)
        except OSError as e:
            if e.errno == _EAGAIN:
                return 0
            raise
        return 0 if n is None else n

    # -- misc --------------------------------------------------------------
    def random(self, n):
        return os.urandom(n)

    def crypto(self):
        if self._crypto is None:
            from .nacl_pure import PureCrypto

            self._crypto = PureCrypto(os.urandom)
        return self._crypto

    def log(self, level, msg, args=()):
        # WARNING lines only (each line costs heap): ctx.port.log_level = 10
        # shows the DEBUG ones (an instance attribute, set only when wanted:
        # a class attribute would cost heap in every program)
        if level >= 30 or level >= getattr(self, "log_level", 30):
            print("edgezmq:", msg % args)

    def serial_attach(self, ctx, sock, ep, addr, binding):
        try:
            from .serial_transport import attach
        except ImportError:
            raise OSError(errno.EOPNOTSUPP, "serial transport not in this build") from None
        return attach(ctx, sock, ep, addr, binding)


def _nodelay(s):
    try:
        s.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass


def _af_unix():
    import socket

    return getattr(socket, "AF_UNIX", None)


def _tcp_addr(host, port):
    """A connect/bind address: the unix port wants getaddrinfo's raw sockaddr."""
    import socket

    if isinstance(host, bytes):
        host = host.decode()
    ai = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)
    if not ai:
        ai = socket.getaddrinfo(host, port)
    for a in ai:
        if a[0] == socket.AF_INET:
            return a[-1]
    raise OSError(errno.EINVAL, "no IPv4 address for %s" % host)


def _unix_addr(path):
    """struct sockaddr_un as bytes: the unix port does not take a str path."""
    import struct

    return struct.pack("H", _af_unix()) + path.encode() + b"\x00"


def copy_py(dst, doff, src, soff, n):
    """dst[doff:doff+n] = src[soff:soff+n] without allocating (pure Python)."""
    i = 0
    while i < n:
        dst[doff + i] = src[soff + i]
        i += 1


copy = copy_py
try:  # viper lives in its own module: a build without the emitter only loses that import
    from .viper import copy  # noqa: F811
except (ImportError, SyntaxError, ValueError, NotImplementedError):
    pass
