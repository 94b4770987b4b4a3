"""Context: owns the port, the reactor, the frame pool, inproc names and
sockets. Blocking calls wait here: they poll themselves, or (when the port
runs an I/O thread) take turns with it as leader/follower.

What a device seldom needs (the I/O thread's hand-offs, inproc, serial, ZAP,
pyzmq's context options and `with`) is in core/context_extra.py: methods on
CPython, installed on first use on MicroPython (Context.__getattr__)."""
import sys

from ._compat import const, ticks_diff, ticks_ms
from ._lazy import bind_one
from .errors import ZMQError
from .pool import FramePool
from .reactor import Reactor

_LINGER_POLL_MS = const(50)  # how often term() looks at lingering connections
_EINVAL = const(22)
_EMFILE = const(24)
_EFAULT = const(14)
_ENOTSUP = const(95)
_ETERM = const(156384765)


class Context:
    _instance = None
    _instance_pid = None  # CPython: the process that made _instance (a forked child makes its own)
    ctx_options = None  # what ctx.set() changed of libzmq's context options (context_extra.py)
    _socket_class = None  # a front end's Socket subclass (asyncio)
    serial_links = None  # serial device path -> its SerialSockets (transports/serial/driver.py)
    zap_client = None  # core/zap.py, on the first ZAP request
    app_waited = 0  # I/O thread: ticks_ms when an application thread last blocked here
    waiters = 0  # I/O thread: application threads blocked in wait()
    # defaults as class attributes: an instance holds only what differs
    # (each attribute and each empty list costs heap on a device)
    terminated_flag = False
    closed = False
    polling = False
    coop_turn = 0  # ms of the last reactor turn taken by a cooperative send
    async_waiters = ()  # (loop, future) of asyncio tasks waiting for a change (CPython)

    def __init__(self, io_threads=None, port=None, **kwargs):
        if io_threads is not None and io_threads < 0:
            raise ZMQError(_EINVAL, "io_threads must be >= 0")
        if port is None:
            from .ports import default_port

            port = default_port()
        self.port = port
        self.reactor = Reactor(port)
        self.pool = FramePool(port.pool_count, port.pool_size, port.heap_ok)
        self.rx = bytearray(port.rx_size)  # every engine reads into this, one at a time
        self.lock = port.condition()
        # the condition's own lock: `with ctx.mutex` is one C call on CPython
        # where `with ctx.lock` runs Condition.__enter__ in Python (the hot paths)
        self.mutex = getattr(self.lock, "_lock", self.lock)
        self.dirty = []  # engines holding a batch of messages to write (Context.flush_dirty)
        self.sockets = []
        self.sockopts = {}  # socket options for the sockets made from now on (pyzmq's)
        self.inproc = {}
        self.inproc_pending = {}
        self.lingering = []
        self.closed = False  # an instance attribute: __del__ (context_extra) skips a Context __init__ did not finish
        self.waker = port.waker()
        if self.waker is not None:
            self.reactor.add(self.waker)
            self.reactor.on_timer_added = self._timer_added
        if io_threads is None:
            io_threads = port.default_io_threads
        self.io_threads = io_threads
        self.io_thread = port.start_io_thread(self) if io_threads > 0 else None
        # Engine.output_queued: batch back-to-back messages only where a thread writes the tail
        self.batch = port.batch_bytes if self.io_thread is not None else 0
        track = getattr(port, "track_context", None)
        if track is not None:
            track(self)  # flushed per LINGER at interpreter exit, cooperative too

    @classmethod
    def instance(cls, io_threads=None):
        """(CPython replaces it with a thread- and fork-safe one: context_options.py)"""
        if cls._instance is None or cls._instance.closed:
            cls._instance = cls(io_threads)
        return cls._instance

    # -- sockets -------------------------------------------------------------
    def socket(self, socket_type, socket_class=None, **kwargs):
        """kwargs go to the socket class; the context's socket options
        (ctx.setsockopt, `ctx.linger = 0`) are applied to the new socket."""
        if self.closed:  # as pyzmq: ENOTSUP after term(), ETERM while it runs (libzmq)
            raise ZMQError(_EFAULT if getattr(self, "_shadow", False) else _ENOTSUP, "the context is terminated")
        if self.terminated_flag:
            raise ZMQError(_ETERM, "the context is terminating")
        from .socket import Socket

        cls = socket_class or self._socket_class or Socket
        with self.lock:
            o = self.ctx_options
            if o and len(self.sockets) >= o.get(2, 1023):  # MAX_SOCKETS (ctx.set)
                raise ZMQError(_EMFILE, "MAX_SOCKETS reached")
            s = cls(self, socket_type, **kwargs)
            self.sockets.append(s)
        if self.sockopts:
            self.apply_sockopts(s)
        return s

    def forget_socket(self, sock):
        if sock in self.sockets:
            self.sockets.remove(sock)
            if self.terminated_flag:
                self.wake_leader()  # term() waits for this in another thread

    def log(self, level, msg, *args):
        """A line at logging's level numbers (10 DEBUG, 30 WARNING): the port
        formats msg % args only when it shows the line."""
        self.port.log(level, msg, args)

    # -- waiting ---------------------------------------------------------------
    def wait(self, timeout_ms):
        """Block until something may have changed (called with the lock held).

        Where threads exist (a port with a waker) the caller leads a reactor
        turn with the lock released, or follows the thread that leads one,
        I/O thread or not: another thread can then send and wake it."""
        if self.pool.stalled and self.resume_stalled():
            return  # held input went in: the caller looks again before blocking
        if self.waker is None:
            if self.dirty and self.flush_dirty():
                timeout_ms = 0  # the caller may be waiting for exactly that (SNDHWM)
            self.reactor.run_once(timeout_ms)
        else:
            self.wait_threaded(timeout_ms)

    def resume_stalled(self):
        """Connections whose input waited for a frame-pool slot go on while slots
        are free (the application gave some back: recv_into, recv)."""
        stalled = self.pool.stalled
        fed = False
        while stalled and self.pool.nfree:
            e = stalled.pop(0)
            fed = True
            try:  # as in the reactor's dispatch: what raises closes that connection only
                if e.active and e._feed_held():
                    e.pause_reading(False)
            except Exception as x:
                if not self.reactor.fault(e, x):
                    raise
        return fed

    def flush_dirty(self):
        """Start a turn: write the batches engines coalesced. -> True if there were any."""
        dirty = self.dirty
        if not dirty:
            return False
        self.dirty = []
        for e in dirty:
            e.dirty = False
            e.flush()
        return True

    def poll_nowait(self):
        """Process whatever is ready without blocking (for NOBLOCK calls)."""
        if self.pool.stalled:
            self.resume_stalled()
        if not self.polling:
            self.flush_dirty()
            self.polling = True
            try:
                self.reactor.run_once(0)
            finally:
                self.polling = False
                if self.waker is not None:
                    self.lock.notify_all()

    def wake_waiters(self):
        """Something changed: wake the threads (and asyncio tasks) waiting here."""
        if self.waker is not None:
            self.wake_threads()

    def wake_leader(self):
        """A message arrived without the poller seeing it (inproc, maybe from
        another thread): wake the waiters, and the thread blocked in poll."""
        if self.waker is not None:
            self.wake_threads()
            if self.polling:
                self.waker.wake()

    def __getattr__(self, name):
        # MicroPython: a method of context_extra.py, bound the first time it is used (core/_lazy.py)
        if not bind_one(Context, "edgezmq.context_extra", name):
            raise AttributeError(name)
        return getattr(self, name)

    # -- linger and termination ----------------------------------------------------
    def linger_engines(self, sock, engines, linger):
        """A closed socket's connections flush for up to `linger` ms, then close."""
        self.flush_dirty()  # coalesced batches go out before LINGER applies
        for e in engines:
            if not e.active:
                continue
            e.origin = None
            if linger == 0 or not e.has_output() or not e.ready:
                e.close()
            else:
                self.lingering.append(e)
                if linger > 0:
                    self.reactor.call_later(linger, e.close)
        sock.engines.clear()

    def _flush_lingering(self, timeout_ms=-1):
        """Run the reactor until lingering connections flushed or expired."""
        start = ticks_ms()
        while True:
            live = []
            for e in self.lingering:
                if e.active and e.has_output():
                    live.append(e)
                elif e.active:
                    e.close()
            self.lingering = live
            if not live:
                return
            wait = _LINGER_POLL_MS
            if timeout_ms >= 0:
                left = timeout_ms - ticks_diff(ticks_ms(), start)
                if left <= 0:
                    for e in live:
                        e.close()
                    self.lingering = []
                    return
                wait = min(wait, left)
            if self.waker is not None:
                self.linger_wait(wait)
            else:
                self.reactor.run_once(wait)

    def term(self):
        """libzmq's zmq_ctx_term: calls blocked in other threads raise
        ContextTerminated at once, and so does every later call on the
        context's sockets but close(); then term() waits until every socket
        is closed (by the threads that use them, as pyzmq and libzmq: a
        socket left open blocks it) and their lingering messages went out
        (LINGER). Without threads (a port with no waker: MicroPython)
        nothing else could close them, so term() closes them itself."""
        if self.closed:
            return
        with self.lock:
            self.terminated_flag = True  # before anything else: blocked calls see ETERM
            self.wake_leader()
        if self.waker is None:
            for s in list(self.sockets):
                if not s.closed:
                    s.close()
        else:
            self.wait_sockets_closed()  # context_extra.py
        with self.lock:
            self._flush_lingering()
            self.closed = True
        if self.io_thread is not None:
            self.port.stop_io_thread(self)
            self.io_thread = None
            self.batch = 0
        with self.lock:
            if self.waker is not None:
                try:
                    self.reactor.remove(self.waker)
                except (KeyError, ValueError, OSError):
                    pass
                self.waker.close()
                self.waker = None
            self.port.close_poller(self.reactor.poller)


if sys.implementation.name != "micropython":
    from ._lazy import bind_all

    bind_all(Context, "edgezmq.context_extra").install_cpython(Context)
