"""Context methods a device seldom or never needs: the I/O thread's
leader/follower hand-offs and asyncio wake-ups (CPython only), inproc and
serial endpoints, ZAP requests, and pyzmq's context options, `with` and
destroy().

CPython installs them as ordinary Context methods when context.py is
imported. MicroPython leaves them out of the class (each method costs heap)
and Context.__getattr__ installs one the first time it is looked up.
"""
import sys

from ._compat import const, ticks_ms
from .context_options import METHODS as _OPTIONS
from .context_options import install as install_options
from .errors import ZMQError

_EINVAL = const(22)


def _resolve(fut):
    if not fut.done():
        fut.set_result(None)


def wait_threaded(self, timeout_ms):
    """Context.wait where threads exist: lead a reactor turn or follow it."""
    # while the application keeps blocking here (request-reply), it polls
    # for itself and the I/O thread stands back (see the port's I/O loop)
    self.app_waited = ticks_ms()
    if self.polling:
        self.waiters += 1
        self.waker.wake()
        try:
            self.lock.wait(None if timeout_ms < 0 else timeout_ms / 1000.0)
        finally:
            self.waiters -= 1
        return
    self.poll_once(timeout_ms)


def poll_once(self, timeout_ms):
    """Run one reactor turn as the leader, with the lock released while blocked."""
    if self.dirty and self.flush_dirty():
        timeout_ms = 0  # the caller may be waiting for exactly that (SNDHWM)
    self.polling = True
    try:
        self.reactor.run_once(timeout_ms, self.lock.release, self.lock.acquire)
    finally:
        self.polling = False
        self.lock.notify_all()


def linger_wait(self, ms):
    """Context._flush_lingering's wait with an I/O thread."""
    if self.polling:
        self.lock.wait(ms / 1000.0)
    else:
        self.poll_once(ms)


def kick(self):
    """A batch waits to be written: get the poller (or the idle I/O thread) going."""
    if self.polling:
        self.waker.wake()
    else:
        self.lock.notify_all()


def wake_threads(self):
    """Something changed: wake the application threads (and asyncio tasks)
    waiting on the I/O thread."""
    self.lock.notify_all()
    if self.async_waiters:
        waiters = self.async_waiters
        self.async_waiters = []
        for loop, fut in waiters:
            if not fut.done():  # a waiter that gave up cancels its future
                try:
                    loop.call_soon_threadsafe(_resolve, fut)
                except RuntimeError:  # its event loop was closed
                    pass


def async_change(self):
    """A future resolved at the next change (asyncio front end, I/O thread only)."""
    import asyncio  # port-ok: only reached on CPython with an I/O thread

    loop = asyncio.get_running_loop()  # port-ok: CPython only (I/O thread)
    fut = loop.create_future()
    with self.lock:
        if not self.async_waiters:
            self.async_waiters = []
        self.async_waiters.append((loop, fut))
        if self.polling:
            self.waker.wake()
    return fut


def _timer_added(self):
    if self.polling and self.waker is not None:
        self.waker.wake()


def waker_fd(self):
    return self.waker.fileno() if self.waker is not None else -1


# -- ZAP -----------------------------------------------------------------------
def zap_request(self, engine, frames):
    from .security.zap import zap_client

    zap_client(self).request(engine, frames)


# -- termination ---------------------------------------------------------------
def wait_sockets_closed(self):
    """term()'s wait where threads exist: until every socket is closed, by
    the threads that use them (libzmq's zmq_ctx_term; their blocked calls
    were woken with ETERM). Sockets the context made for itself (a ZAP
    handler of edgezmq.security.zap.serve, which has no thread to close
    it) are closed here once the program's are."""
    with self.lock:
        while True:
            for s in self.sockets:
                if not s.closed and not s.__dict__.get("_term_closes"):
                    break
            else:
                break
            if not _other_threads():
                # no thread is left that could close them: a socket the program
                # dropped unclosed (pyzmq closes those when they are collected;
                # here the context's connections keep them alive), or one it
                # forgot. Waiting would never end: close them, and say so.
                _warn_open(self, "closed by term(): no other thread could close it")
                break
            self.wait(100)  # a close() in another thread wakes it (forget_socket)
    for s in list(self.sockets):
        if not s.closed:
            s.close()


def _other_threads():
    """-> True while a thread other than this one and the I/O threads runs."""
    import threading  # port-ok: CPython only (a port with a waker has threads)

    me = threading.current_thread()
    for t in threading.enumerate():
        if t is not me and t.name != "edgezmq-io" and t.is_alive():
            return True
    return False


def _warn_open(self, why):
    import warnings  # port-ok: CPython only

    for s in self.sockets:
        if not s.closed and not s.__dict__.get("_term_closes"):
            warnings.warn("Unclosed socket %r: %s" % (s, why), ResourceWarning, stacklevel=4)  # port-ok: CPython only


def _destroy(self, linger, warn_open):
    """destroy(), and what `with` and a dropped Context do (they warn about
    each socket still open: ResourceWarning, as pyzmq)."""
    if self.closed:
        return
    with self.lock:
        self.terminated_flag = True  # calls blocked in other threads get ETERM, not ENOTSOCK
        self.wake_leader()
    for s in list(self.sockets):
        if not s.closed:
            if warn_open and not s.__dict__.get("_term_closes"):
                import warnings  # port-ok: CPython only (warn_open: __exit__, __del__)

                warnings.warn("Destroying context with unclosed socket %r" % (s,),
                              ResourceWarning, stacklevel=3, source=s)  # port-ok: CPython only (warn_open)
            s.close(linger)
    self.term()


# -- pyzmq's surface -------------------------------------------------------------
def destroy(self, linger=None):
    """Close every socket still open (with `linger` when given, else its
    LINGER), then term(). As in pyzmq, not for sockets other threads use."""
    _destroy(self, linger, False)


# zmq_ctx_get/set (libzmq's numbers): IO_THREADS=1 MAX_SOCKETS=2 SOCKET_LIMIT=3
# (get; THREAD_PRIORITY=3 on set) THREAD_SCHED_POLICY=4 MAX_MSGSZ=5 MSG_T_SIZE=6
# THREAD_AFFINITY_CPU_ADD/REMOVE=7/8 (set) THREAD_NAME_PREFIX=9, with libzmq's defaults
_CTX_GET = {2: 1023, 3: 65535, 4: -1, 5: 2147483647, 6: 64, 9: 0}
_CTX_SET = (2, 3, 4, 5, 7, 8, 9)


def ctx_get(self, option):
    """Context.get(option) as zmq_ctx_get: EINVAL for what libzmq lacks."""
    if option == 1:
        return self.io_threads
    if option not in _CTX_GET:
        raise ZMQError(_EINVAL)
    opts = getattr(self, "ctx_options", None) or {}
    return opts.get(option, _CTX_GET[option])


def ctx_set(self, option, value):
    """Context.set(option, value) as zmq_ctx_set. IO_THREADS takes effect
    while the context has no socket (libzmq starts its threads then too):
    0 makes it cooperative, more than 0 gives it the I/O thread."""
    if not isinstance(value, int):
        raise TypeError("an integer is required")
    if option == 1:
        if value < 0:
            raise ZMQError(_EINVAL)
        self.io_threads = value
        if not self.sockets and not self.closed:
            if value and self.io_thread is None:
                self.io_thread = self.port.start_io_thread(self)
            elif not value and self.io_thread is not None:
                self.port.stop_io_thread(self)
                self.io_thread = None
            self.batch = self.port.batch_bytes if self.io_thread is not None else 0
        return
    if option not in _CTX_SET:
        raise ZMQError(_EINVAL)
    opts = getattr(self, "ctx_options", None)
    if opts is None:
        opts = self.ctx_options = {}
    if option in _CTX_GET:
        opts[option] = value


def __enter__(self):
    return self


def __exit__(self, *exc):
    # as pyzmq 27: destroy(), each socket still open closed with its LINGER and
    # a ResourceWarning (CPython: MicroPython has no warnings to show)
    _destroy(self, None, sys.implementation.name != "micropython")


def __del__(self):
    """A Context the program dropped without term(): destroy it, as pyzmq
    does, so its I/O thread ends and its sockets and fds close (CPython only;
    the I/O thread holds it weakly). On its own I/O thread, which may hold
    the lock, the work moves to a short-lived thread."""
    if self.__dict__.get("closed", True) or self._shadow:
        return  # a shadow (core/shadow.py) owns nothing
    try:
        import threading  # port-ok: CPython only (installed there)

        if self.io_thread is threading.current_thread():
            threading.Thread(target=_finalize, args=(self,), name="edgezmq-del", daemon=True).start()
        else:
            _finalize(self)
    except Exception:  # noqa: BLE001 - a finalizer must not raise (e.g. at interpreter exit)
        pass


def _finalize(self):
    """__del__'s work, with pyzmq's ResourceWarnings: each socket left open
    ("Unclosed socket", pyzmq's Socket.__del__: here the sockets go with their
    context), then the context."""
    import warnings  # port-ok: CPython only

    for s in list(self.sockets):
        if not s.closed and not s.__dict__.get("_term_closes"):
            warnings.warn("Unclosed socket %r" % (s,), ResourceWarning, stacklevel=2, source=s)  # port-ok: CPython only
            s.close()
    warnings.warn("Unclosed context %r" % (self,), ResourceWarning, stacklevel=2, source=self)  # port-ok: CPython only
    self.destroy()


METHODS = {
    "wait_threaded": wait_threaded,
    "poll_once": poll_once,
    "linger_wait": linger_wait,
    "kick": kick,
    "wake_threads": wake_threads,
    "async_change": async_change,
    "_timer_added": _timer_added,
    "waker_fd": waker_fd,
    "zap_request": zap_request,
    "wait_sockets_closed": wait_sockets_closed,
    "destroy": destroy,
    "set": ctx_set,
    "get": ctx_get,
    "__enter__": __enter__,
    "__exit__": __exit__,
}


METHODS.update(_OPTIONS)  # setsockopt, getsockopt (pyzmq's Context.sockopts): core/context_options.py


def install_cpython(cls):
    """What CPython adds besides METHODS (core/_lazy.py binds those): a dropped
    Context is destroyed (never looked up on a device, so not a METHOD),
    shadows and copies (core/shadow.py), and core/context_options.py's
    attributes, repr, dir and instance()."""
    from . import shadow  # port-ok: CPython only

    cls.__del__ = __del__
    shadow.install(cls)  # Context(ctx), copy.copy(ctx)...
    install_options(cls)
    # every METHOD is bound: __getattr__ could only raise AttributeError, and
    # a class without one has its attribute reads specialised (CPython 3.11+)
    if "__getattr__" in cls.__dict__:
        del cls.__getattr__
    from . import hotattrs  # port-ok: CPython only

    hotattrs.install(cls)  # terminated_flag: an instance attribute
