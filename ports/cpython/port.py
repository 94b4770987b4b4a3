"""CPython port: epoll (or poll) poller, an optional I/O thread, sockets with
their errno quirks, pynacl crypto, logging."""
from __future__ import annotations

import atexit
import errno
import logging
import os
import select
import socket
import threading
import time
import weakref

from ..._compat import ticks_diff, ticks_ms

log = logging.getLogger("edgezmq")
log.addHandler(logging.NullHandler())  # silent unless the program configures logging, as pyzmq

_WOULD_BLOCK = (errno.EAGAIN, errno.EWOULDBLOCK)
_IN_PROGRESS = (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK)


class EpollPoller:
    """register(handler, read, write) -> poll(ms) -> [(handler, r, w, e)]."""

    def __init__(self) -> None:
        self._ep = select.epoll() if hasattr(select, "epoll") else None
        self._p = None if self._ep else select.poll()
        self._by_fd: dict[int, object] = {}

    def _mask(self, read: bool, write: bool) -> int:
        if self._ep is not None:
            return (select.EPOLLIN if read else 0) | (select.EPOLLOUT if write else 0)
        return (select.POLLIN if read else 0) | (select.POLLOUT if write else 0)

    def _fd(self, h) -> int:
        p = h.pobj
        return p if isinstance(p, int) else p.fileno()

    def register(self, h, read=True, write=False) -> None:
        fd = self._fd(h)
        self._by_fd[fd] = h
        (self._ep or self._p).register(fd, self._mask(read, write))

    def modify(self, h, read=True, write=False) -> None:
        fd = self._fd(h)
        if fd < 0 or self._by_fd.get(fd) is not h:
            return
        (self._ep or self._p).modify(fd, self._mask(read, write))

    def unregister(self, h) -> None:
        fd = self._fd(h)
        if self._by_fd.get(fd) is h:
            del self._by_fd[fd]
            try:
                (self._ep or self._p).unregister(fd)
            except (KeyError, ValueError, OSError):
                pass

    def poll(self, timeout_ms: int):
        if self._ep is not None:
            evs = self._ep.poll(-1 if timeout_ms < 0 else timeout_ms / 1000.0)
            rd, wr, er = select.EPOLLIN, select.EPOLLOUT, select.EPOLLERR | select.EPOLLHUP
        else:
            evs = self._p.poll(None if timeout_ms < 0 else timeout_ms)
            rd, wr, er = select.POLLIN, select.POLLOUT, select.POLLERR | select.POLLHUP
        out = []
        by_fd = self._by_fd
        for fd, ev in evs:
            h = by_fd.get(fd)
            if h is not None:
                out.append((h, ev & rd, ev & wr, ev & er))
        return out

    def wait_fd(self) -> int | None:
        """An fd readable while poll() has events (the epoll fd), or None:
        the I/O thread waits on it without holding the context."""
        return self._ep.fileno() if self._ep is not None else None

    def close(self) -> None:
        if self._ep is not None:
            self._ep.close()


class _Condition(threading.Condition):
    """notify_all() costs nothing when no thread waits: the context calls it
    after every reactor turn and every read, mostly with nobody waiting
    (threading.Condition's own goes through several Python calls first)."""

    def notify_all(self) -> None:
        if self._waiters:  # type: ignore[attr-defined]  # CPython's Condition keeps its waiters here
            threading.Condition.notify_all(self)


class Waker:
    """A socketpair that interrupts a blocked poll() from another thread."""

    def __init__(self) -> None:
        self.r, self.w = socket.socketpair()
        self.r.setblocking(False)
        self.w.setblocking(False)
        self.pobj = self.r
        self.active = True
        self.reading = True
        self._pending = False

    def fileno(self) -> int:
        return self.r.fileno()

    def wake(self) -> None:
        if self._pending:
            return
        self._pending = True
        try:
            self.w.send(b"\x00")
        except OSError:
            pass

    def on_event(self, r, w, e) -> None:
        self._pending = False
        try:
            while self.r.recv(4096):
                pass
        except OSError:
            pass

    def close(self) -> None:
        self.active = False
        self.r.close()
        self.w.close()


_contexts: weakref.WeakSet = weakref.WeakSet()


def _flush_at_exit() -> None:
    """Like libzmq at process end: deliver what LINGER allows, then stop."""
    for ctx in list(_contexts):
        try:
            if not ctx.closed:
                ctx.destroy()  # term() would wait for sockets left open
        except Exception as e:  # noqa: BLE001 - exit must go on
            log.debug("at exit: %s", e)


atexit.register(_flush_at_exit)


class CPythonPort:
    name = "cpython"
    pool_count = 64
    pool_size = 2048
    heap_ok = True
    rx_size = 65536
    default_io_threads = 1
    # back-to-back messages are written in batches up to this (Engine.output_queued): rx_size,
    # so one batch is one read at an edgezmq peer (1 KiB messages: +8-20 % over 16384, 64 B even)
    batch_bytes = 65536
    tunes_streams = True  # SNDBUF, RCVBUF, TCP_KEEPALIVE* are honoured (_tune)

    def __init__(self) -> None:
        self._crypto = None
        self.copy = _copy
        self._keepalives: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # listening socket -> options
        self.fast = _install_fast()  # cffi fast paths in the core: built and not EDGEZMQ_PURE=1

    # -- reactor pieces ----------------------------------------------------
    def poller(self) -> EpollPoller:
        return EpollPoller()

    def close_poller(self, p: EpollPoller) -> None:
        p.close()

    def condition(self) -> threading.Condition:
        return _Condition(threading.Lock())

    def waker(self) -> Waker:
        return Waker()

    def track_context(self, ctx) -> None:
        _contexts.add(ctx)

    def start_io_thread(self, ctx) -> threading.Thread:
        _contexts.add(ctx)
        ctx._io_stop = False
        # a weak reference: a Context the program drops is collected, and its
        # finalizer (Context.__del__) stops this thread
        args = (weakref.ref(ctx), ctx.lock, ctx.reactor.poller.wait_fd())
        t = threading.Thread(target=_io_loop, args=args, name="edgezmq-io", daemon=True)
        t.start()
        return t

    def stop_io_thread(self, ctx) -> None:
        with ctx.lock:
            ctx._io_stop = True
            if ctx.waker is not None:
                ctx.waker.wake()
            ctx.lock.notify_all()
        t = ctx.io_thread
        if t is not None and t is not threading.current_thread():
            t.join(2.0)

    # -- streams -----------------------------------------------------------
    def listen(self, ep, options):
        if ep.transport == "ipc":
            return self._listen_ipc(ep, options)
        host = ep.host
        family = socket.AF_INET
        if ":" in host or (not host and options.ipv6):
            family = socket.AF_INET6
        elif host and not _is_ipv4(host):
            family, host = _bind_host(host, ep.port)
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            _tune_buffers(s, options)  # accepted connections inherit them
            if options.tcp_keepalive != -1:  # set on each accepted connection, as libzmq
                self._keepalives[s] = options
            if family == socket.AF_INET6 and not host:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind((host or ("::" if family == socket.AF_INET6 else "0.0.0.0"), ep.port))
            s.listen(options.backlog or 100)
            s.setblocking(False)
        except OSError:
            s.close()
            raise
        addr = s.getsockname()
        h = addr[0]
        if family == socket.AF_INET6:
            h = "[%s]" % h
        return s, "tcp://%s:%d" % (h, addr[1])

    def _listen_ipc(self, ep, options):
        path = ep.path
        if path == "*":
            import tempfile

            path = tempfile.mktemp(prefix="edgezmq-", suffix=".ipc")
        if os.path.exists(path):
            try:
                probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                probe.connect(path)
                probe.close()
                raise OSError(errno.EADDRINUSE, "ipc endpoint in use")
            except ConnectionRefusedError:
                os.unlink(path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.bind(path)
            s.listen(options.backlog or 100)
            s.setblocking(False)
        except OSError:
            s.close()
            raise
        ep.path = path
        return s, "ipc://" + path

    def unlink_ipc(self, ep) -> None:
        if ep.transport == "ipc":
            try:
                os.unlink(ep.path)
            except OSError:
                pass

    def accept(self, lsock):
        try:
            s, addr = lsock.accept()
        except OSError as e:
            if e.errno in _WOULD_BLOCK:
                return None
            if e.errno in (errno.EMFILE, errno.ENFILE, errno.ECONNABORTED):
                log.warning("accept: %s", e)
                return None
            raise
        s.setblocking(False)
        if s.family != socket.AF_UNIX:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            o = self._keepalives.get(lsock)
            if o is not None:
                try:
                    _tune_keepalives(s, o)
                except OSError as e:  # libzmq drops the connection too
                    s.close()
                    log.warning("edgezmq: accept: keepalive options: %s", e)
                    return None
            peer = "%s:%d" % (addr[0], addr[1])
        else:
            peer = "ipc"
        return s, peer

    def connect(self, ep, options=None):
        """A non-blocking connect; options (SNDBUF, RCVBUF, TCP_KEEPALIVE*)
        are given only when one is set."""
        if ep.transport == "ipc":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target = ep.path
        else:
            infos = socket.getaddrinfo(ep.host, ep.port, 0, socket.SOCK_STREAM)
            fam, _, _, _, target = infos[0]
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if options is not None:
                try:
                    _tune(s, options)
                except OSError:
                    s.close()
                    raise
        s.setblocking(False)
        err = s.connect_ex(target)
        if err not in (0,) + _IN_PROGRESS:
            s.close()
            raise OSError(err, os.strerror(err))
        return s

    def connect_error(self, s) -> int:
        return s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)

    def read_into(self, s, buf) -> int:
        try:
            return s.recv_into(buf)
        except BlockingIOError:
            return -1
        except InterruptedError:
            return -1

    def write(self, s, data) -> int:
        try:
            return s.send(data)
        except BlockingIOError:
            return 0
        except InterruptedError:
            return 0

    def writev(self, s, bufs) -> int:
        """Write several buffers with one system call (scatter/gather); -> bytes written."""
        try:
            return s.sendmsg(bufs)
        except BlockingIOError:
            return 0
        except InterruptedError:
            return 0

    # -- misc --------------------------------------------------------------
    def random(self, n: int) -> bytes:
        return os.urandom(n)

    def crypto(self):
        if self._crypto is None:
            try:
                from .crypto import PyNaclCrypto

                self._crypto = PyNaclCrypto()
            except ImportError:
                from ..micropython.nacl_pure import PureCrypto

                self._crypto = PureCrypto(os.urandom)
        return self._crypto

    def log(self, level: int, msg: str, args: tuple = ()) -> None:
        log.log(level, msg, *args)

    def serial_attach(self, ctx, sock, ep, addr, binding):
        from .serial_transport import attach

        return attach(ctx, sock, ep, addr, binding)


def _install_fast() -> bool:
    try:
        from . import zmtpfast
    except ImportError:  # no cffi
        return False
    return zmtpfast.install()


def _copy(dst, doff, src, soff, n) -> None:
    if n:
        memoryview(dst)[doff : doff + n] = memoryview(src)[soff : soff + n]


def _bind_host(name: str, port: int) -> tuple[int, str]:
    """A tcp bind's interface name (eth0: its IPv4 address) or host name, as
    libzmq resolves them; neither is ENODEV, as libzmq says it."""
    addr = _interface_ipv4(name)
    if addr is not None:
        return socket.AF_INET, addr
    try:
        infos = socket.getaddrinfo(name, port, 0, socket.SOCK_STREAM)
    except socket.gaierror:
        raise OSError(errno.ENODEV, "no interface or host %r" % name) from None
    return infos[0][0], infos[0][4][0]


def _interface_ipv4(name: str) -> str | None:
    """The IPv4 address of network interface `name` (Linux), or None."""
    try:
        import fcntl
        import struct

        socket.if_nametoindex(name)
    except (ImportError, OSError):
        return None
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        r = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))  # SIOCGIFADDR
    except OSError:
        return None
    finally:
        s.close()
    return socket.inet_ntoa(r[20:24])



def _add_keepalive_options() -> None:
    """TCP_KEEPALIVE_CNT/IDLE/INTVL: options only a port that tunes its streams
    knows (ints >= -1, default -1); the device's table leaves them out."""
    from ... import options as O

    for name, number in (("tcp_keepalive_cnt", 35), ("tcp_keepalive_idle", 36), ("tcp_keepalive_intvl", 37)):
        O.NAMES[name] = number | O._INT | O._NEG
        setattr(O.Options, name, -1)


_add_keepalive_options()

_KEEPALIVES = (  # libzmq's tcp.cpp tune_tcp_keepalives, where the OS has them
    ("tcp_keepalive_cnt", getattr(socket, "TCP_KEEPCNT", None)),
    ("tcp_keepalive_idle", getattr(socket, "TCP_KEEPIDLE", getattr(socket, "TCP_KEEPALIVE", None))),
    ("tcp_keepalive_intvl", getattr(socket, "TCP_KEEPINTVL", None)),
)


def _tune(s: socket.socket, o) -> None:
    """A tcp socket as libzmq sets it up (tcp.cpp): kernel buffer sizes, then
    keepalives; -1 leaves the OS default."""
    _tune_buffers(s, o)
    _tune_keepalives(s, o)


def _tune_buffers(s: socket.socket, o) -> None:
    if o.sndbuf >= 0:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, o.sndbuf)
    if o.rcvbuf >= 0:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, o.rcvbuf)


def _tune_keepalives(s: socket.socket, o) -> None:
    """The keepalive times apply only with TCP_KEEPALIVE set, as libzmq's."""
    if o.tcp_keepalive != -1:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, o.tcp_keepalive)
        for name, opt in _KEEPALIVES:
            v = getattr(o, name)
            if v != -1 and opt is not None:
                s.setsockopt(socket.IPPROTO_TCP, opt, v)


def _is_ipv4(h: str) -> bool:
    try:
        socket.inet_aton(h)
        return h.count(".") == 3
    except OSError:
        return False


_STAND_BACK_MS = 3
_IDLE_MS = 100  # the I/O thread's longest wait: it rechecks its context this often


def _take(lock) -> None:
    """The I/O thread takes the lock without queueing for it: while an
    application thread sends or receives back to back, a waiter on the lock
    would make each of its releases a futex wake-up (and the GIL ping-pong
    between the two threads costs more than the I/O thread saves)."""
    while not lock.acquire(False):
        time.sleep(_RETRY_S)


_RETRY_S = 0.0002


def _io_loop(ref, lock, wait_fd) -> None:
    """The I/O thread: polls whenever no application thread is waiting to.

    While an application thread keeps blocking in the context (a REQ/REP
    loop), it does its own polling and the I/O thread sleeps outside the
    lock instead of taking turns: each turn would cost thread handoffs
    (measured: ~16 futex calls per round trip). Background I/O resumes
    _STAND_BACK_MS after the application last blocked.

    The thread holds its context only during a turn: it blocks on the epoll
    fd (wait_fd) with a weak reference, so a dropped Context is garbage."""
    if wait_fd is None:  # no epoll (macOS): the old loop, holding the context
        return _io_loop_strong(ref, lock)
    watch = select.poll()  # the epoll fd turns readable when poll() has events
    watch.register(wait_fd, select.POLLIN)
    with lock:
        while True:
            ctx = ref()
            if ctx is None or ctx._io_stop or ctx.closed:
                return
            # standing back comes first: while an application thread polls
            # turn after turn, sleeping here costs nothing per turn, where
            # waiting on the condition would be woken by each turn's end
            idle = ticks_diff(ticks_ms(), ctx.app_waited)
            if 0 <= idle < _STAND_BACK_MS:
                del ctx
                lock.release()
                try:
                    time.sleep((_STAND_BACK_MS - idle) / 1000.0)
                finally:
                    _take(lock)
                continue
            if ctx.polling or ctx.waiters:
                del ctx
                lock.wait(0.05)
                continue
            try:
                ctx.poll_once(0)
                timeout = ctx.reactor._next_timeout(_IDLE_MS)
            except Exception as e:  # noqa: BLE001 - keep serving other peers
                log.exception("I/O thread: %s", e)
                timeout = _IDLE_MS
            if timeout == 0 or ctx.dirty:
                continue
            ctx.polling = True  # the leader: followers and new timers wake the waker
            del ctx
            lock.release()
            try:
                watch.poll(timeout)
            except (OSError, ValueError):  # the epoll fd closed under us: term()
                pass
            finally:
                _take(lock)
            ctx = ref()
            if ctx is not None:
                ctx.polling = False
                lock.notify_all()
                del ctx


def _io_loop_strong(ref, lock) -> None:
    ctx = ref()
    if ctx is None:
        return
    with lock:
        while not ctx._io_stop and not ctx.closed:
            if ctx.polling or ctx.waiters:
                lock.wait(0.05)
                continue
            idle = ticks_diff(ticks_ms(), ctx.app_waited)
            if 0 <= idle < _STAND_BACK_MS:
                lock.release()
                try:
                    time.sleep((_STAND_BACK_MS - idle) / 1000.0)
                finally:
                    lock.acquire()
                continue
            try:
                ctx.poll_once(_IDLE_MS)
            except Exception as e:  # noqa: BLE001 - keep serving other peers
                log.exception("I/O thread: %s", e)
