"""MicroPython port: select.poll poller, non-blocking sockets with
MicroPython's errno quirks, no threads, a small frame pool, viper copy.

Runs on the unix port and on boards with a network stack (ESP32, Pico W,
STM32 with LAN). Nothing here imports CPython-only modules.
"""
import errno
import os
import select
import socket

from micropython import const

_EAGAIN = errno.EAGAIN
# connect() in progress: EINPROGRESS (unix, lwIP), EAGAIN on some lwIP builds,
# ETIMEDOUT is what old ESP32 builds raise for a non-blocking connect
_IN_PROGRESS = (errno.EINPROGRESS, errno.EAGAIN, getattr(errno, "EALREADY", 114), errno.ETIMEDOUT)
# select's event bits are MicroPython's own (MP_STREAM_POLL_*), the same on every port
_POLLIN = const(1)
_POLLOUT = const(4)
_POLLERR = const(8 | 16)  # ERR | HUP
_AF_UNIX = getattr(socket, "AF_UNIX", None)
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

    def register(self, h, read=True, write=False):
        o = h.pobj
        self.by_obj[o] = [h, 0, 0, 0]
        self.p.register(o, (_POLLIN if read else 0) | (_POLLOUT if write else 0))

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
        out = []
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
                errs.append(o)
            slot[1] = ev & _POLLIN
            slot[2] = ev & _POLLOUT
            slot[3] = e
            out.append(slot)
        return out

    def close(self):
        for o in list(self.by_obj):
            try:
                self.p.unregister(o)
            except (KeyError, ValueError, OSError):
                pass
        self.by_obj.clear()


class _NoLock:
    """The condition the core asks for: no threads here, so it does nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def acquire(self, *a):
        return True

    def release(self):
        pass

    def wait(self, timeout=None):
        return True

    def notify_all(self):
        pass

    def notify(self, n=1):
        pass


_NOLOCK = _NoLock()


class MicroPythonPort:
    """The port interface (see ports/cpython/port.py) on MicroPython.

    pool_count x pool_size bytes are preallocated per context; frames that do
    not fit come from the heap (heap_ok) and a MemoryError closes only that
    connection. Set heap_ok=False (and MAXMSGSIZE) for a hard memory bound.
    """

    name = "micropython"
    default_io_threads = 0

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

    def waker(self):
        return None

    def start_io_thread(self, ctx):
        return None

    def stop_io_thread(self, ctx):
        pass

    # -- streams -----------------------------------------------------------
    def listen(self, ep, options):
        if ep.transport == "ipc":
            return self._listen_ipc(ep, options)
        host = ep.host or "0.0.0.0"
        if ":" in host:
            raise OSError(errno.EINVAL, "IPv6 endpoints are not supported on MicroPython")
        port = ep.port
        tries = 1 if port else 64
        for _ in range(tries):
            p = port or (49152 + (_rand16() % 16383))
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(_tcp_addr(host, p))
                s.listen(options.backlog or 4)
                s.setblocking(False)
            except OSError as e:
                s.close()
                if port or e.errno != errno.EADDRINUSE:
                    raise
                continue
            return s, "tcp://%s:%d" % (host, p)
        raise OSError(errno.EADDRINUSE, "no free port")

    def _listen_ipc(self, ep, options):
        if _AF_UNIX is None:
            raise OSError(errno.EOPNOTSUPP, "ipc needs AF_UNIX")
        path = ep.path
        if path == "*":
            path = "/tmp/edgezmq-%s.ipc" % _hex(self.random(6))
        s = socket.socket(_AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                s.bind(_unix_addr(path))
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
                # a stale file from a dead process, or a live listener?
                probe = socket.socket(_AF_UNIX, socket.SOCK_STREAM)
                try:
                    probe.connect(_unix_addr(path))
                    raise OSError(errno.EADDRINUSE, "ipc endpoint in use")
                except OSError as pe:
                    if pe.errno == errno.EADDRINUSE:
                        raise
                finally:
                    probe.close()
                os.remove(path)
                s.bind(_unix_addr(path))
            s.listen(options.backlog or 4)
            s.setblocking(False)
        except OSError:
            s.close()
            raise
        ep.path = path
        return s, "ipc://" + path

    def unlink_ipc(self, ep):
        if ep.transport == "ipc":
            try:
                os.remove(ep.path)
            except OSError:
                pass

    def accept(self, lsock):
        try:
            s, addr = lsock.accept()
        except OSError as e:
            if e.errno == _EAGAIN or e.errno == errno.ECONNABORTED:
                return None
            if e.errno in (errno.ENOMEM, errno.ENOBUFS, 23, 24):  # ENFILE, EMFILE
                self.log("edgezmq: accept: %s" % e)
                return None
            raise
        s.setblocking(False)
        peer = "ipc"
        if not isinstance(addr, tuple):
            try:
                addr = socket.sockaddr(addr)
            except (AttributeError, ValueError, TypeError, OSError):
                addr = None
        if addr and len(addr) >= 3 and addr[0] == socket.AF_INET:
            _nodelay(s)
            peer = "%s:%d" % (_ntoa(addr[1]), addr[2])
        elif addr and len(addr) == 2 and isinstance(addr[1], int):  # boards: ("1.2.3.4", port)
            _nodelay(s)
            peer = "%s:%d" % (addr[0], addr[1])
        return s, peer

    def connect(self, ep):
        if ep.transport == "ipc":
            if _AF_UNIX is None:
                raise OSError(errno.EOPNOTSUPP, "ipc needs AF_UNIX")
            s = socket.socket(_AF_UNIX, socket.SOCK_STREAM)
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

    def log(self, msg):
        print(msg)

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


def _tcp_addr(host, port):
    """A connect/bind address: the unix port wants getaddrinfo's raw sockaddr."""
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

    return struct.pack("H", _AF_UNIX) + path.encode() + b"\x00"


def _ntoa(b):
    if isinstance(b, str):
        return b
    try:
        return socket.inet_ntop(socket.AF_INET, b)
    except (AttributeError, OSError, ValueError):
        return "%d.%d.%d.%d" % (b[0], b[1], b[2], b[3])


def _hex(b):
    return "".join("%02x" % x for x in b)


def _rand16():
    r = os.urandom(2)
    return (r[0] << 8) | r[1]


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
