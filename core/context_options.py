"""pyzmq's Context.sockopts: socket options set on a context apply to the
sockets it makes next (ctx.setsockopt, `ctx.linger = 5`). libzmq's own
context options (ctx.set/get) are core/context_extra.py's.

Loaded with core/context_extra.py (on first use on MicroPython); CPython
also gets one attribute per socket option and a thread- and fork-safe
Context.instance() (install).
"""
from .errors import ZMQError

# libzmq's context options (zmq.h), in dir(ctx) as pyzmq's
NAMES = ("IO_THREADS", "MAX_SOCKETS", "SOCKET_LIMIT", "THREAD_PRIORITY", "THREAD_SCHED_POLICY",
         "MAX_MSGSZ", "MSG_T_SIZE", "THREAD_AFFINITY_CPU_ADD", "THREAD_AFFINITY_CPU_REMOVE",
         "THREAD_NAME_PREFIX")


def setsockopt(self, option, value):
    """A default for the sockets this context makes from now on (pyzmq:
    applied where the socket type takes it, ZMQError ignored)."""
    self.sockopts[option] = value


def getsockopt(self, option):
    return self.sockopts[option]  # KeyError when unset, as pyzmq


def apply(self, sock):
    """Give a new socket the context's defaults (Context.socket)."""
    for option, value in self.sockopts.items():
        try:
            sock.setsockopt(option, value)
        except ZMQError:
            pass  # an option its type does not take (SUBSCRIBE on a REQ)


METHODS = {
    "setsockopt": setsockopt,
    "getsockopt": getsockopt,
    "apply_sockopts": apply,
}


def _option_property(number, name):
    def get(self):
        try:
            return self.sockopts[number]
        except KeyError:
            raise AttributeError(name) from None

    def put(self, value):
        self.sockopts[number] = value

    def delete(self):
        if self.sockopts.pop(number, None) is None:
            raise AttributeError(name)

    return property(get, put, delete)


def _context_property(number):
    return property(lambda self: self.get(number), lambda self, v: self.set(number, v))


def _dir(self):
    return sorted(set(object.__dir__(self)) | set(NAMES))


def _repr(self):
    """pyzmq's form: <edgezmq.Context(2 sockets) at 0x7f...> (and ' closed')."""
    n = len(self.sockets)
    mod = type(self).__module__
    return "<%s.%s(%s) at %s%s>" % (
        "edgezmq" if mod == "edgezmq.context" else mod, type(self).__name__,
        "%d socket%s" % (n, "s" if n > 1 else "") if n else "", hex(id(self)), " closed" if self.closed else "",
    )


def install(cls):
    """CPython: `ctx.linger = 5` and the like (pyzmq's Context attributes),
    `ctx.max_sockets` / `ctx.socket_limit`..., dir(), and instance()."""
    import threading  # port-ok: CPython only

    from .options import NAMES as SOCKET_OPTIONS

    for name, code in SOCKET_OPTIONS.items():
        setattr(cls, name, _option_property(code & 0xFF, name))
    # and the context options as attributes: ctx.max_sockets = 100 is ctx.set(MAX_SOCKETS, 100)
    # (io_threads is a plain attribute of Context already)
    for name, number in (("max_sockets", 2), ("socket_limit", 3), ("thread_sched_policy", 4),
                         ("max_msgsz", 5), ("msg_t_size", 6)):
        setattr(cls, name, _context_property(number))
    cls.__dir__ = _dir
    cls.__repr__ = _repr
    cls._instance_lock = threading.Lock()
    cls.instance = classmethod(instance)


def instance(cls, io_threads=None):
    """The process's shared context: one per class, made under a lock (many
    threads may ask at once), and a new one in a forked child, as pyzmq's."""
    import os  # port-ok: CPython only

    pid = os.getpid()  # port-ok: CPython only (install)
    c = cls._instance
    if c is None or c.closed or cls._instance_pid != pid:
        with cls._instance_lock:
            c = cls._instance
            if c is None or c.closed or cls._instance_pid != pid:
                c = cls(io_threads)
                cls._instance = c
                cls._instance_pid = pid
    return c
