"""Poller and select() over edgezmq sockets and plain file descriptors."""
from . import constants as C
from ._compat import ticks_diff, ticks_ms
from .errors import ContextTerminated


class _FdWatch:
    """A raw fd (or object with fileno) watched through the reactor during poll()."""

    def __init__(self, obj, fd, flags):
        self.obj = obj
        self.fd = fd
        self.pobj = obj
        self.flags = flags
        self.active = True
        self.reading = bool(flags & C.POLLIN)
        self.hits = 0
        self.want = flags  # what this entry asked for (flags may grow when it leads)
        self.lead = None  # the watch registered for the same fd, if not this one

    def fileno(self):
        return self.fd

    def on_event(self, readable, writable, error):
        ev = 0
        if readable:
            ev |= C.POLLIN
        if writable:
            ev |= C.POLLOUT
        if error:
            ev |= C.POLLERR
        self.hits |= ev & (self.flags | C.POLLERR)


class Poller:
    def __init__(self):
        self.sockets = []  # [(obj, flags)]

    def __contains__(self, socket):
        for s, _ in self.sockets:
            if s is socket:
                return True
        return False

    def register(self, socket, flags=C.POLLIN | C.POLLOUT):
        if flags:
            for i, (s, _) in enumerate(self.sockets):
                if s is socket:
                    self.sockets[i] = (socket, flags)
                    return
            self.sockets.append((socket, flags))
        elif socket in self:  # flags 0 unregisters; not registered is no error (pyzmq)
            self.unregister(socket)

    def modify(self, socket, flags=C.POLLIN | C.POLLOUT):
        self.register(socket, flags)

    def unregister(self, socket):
        for i, (s, _) in enumerate(self.sockets):
            if s is socket:
                del self.sockets[i]
                return
        raise KeyError(socket)

    def _ready(self, fds):
        out = []
        for s, flags in self.sockets:
            if hasattr(s, "poll_events"):
                ev = s.poll_events() & flags
                if s.closed:
                    ev = C.POLLERR
                if ev:
                    out.append((s, ev))
        for w in fds:
            hits = (w.lead or w).hits & (w.want | C.POLLERR)
            if hits:
                out.append((w.fd, hits))  # the fd, not the object, as zmq_poll
        return out

    def poll(self, timeout=None):
        """-> [(socket_or_fd, events)]; timeout in ms, None or negative waits forever."""
        if timeout is None or timeout < 0:
            timeout = -1
        else:
            timeout = int(timeout)
        ctx = None
        for s, _ in self.sockets:
            if hasattr(s, "ctx"):
                ctx = s.ctx
                break
        of_sockets = ctx is not None
        if ctx is None:
            from .context import Context

            ctx = Context.instance()
        elif ctx.terminated_flag:
            raise ContextTerminated()  # as zmq_poll: its sockets' context is terminating
        with ctx.lock:
            fds = []
            leads = {}  # fd -> the watch registered for it (one fd may be listed twice)
            for s, flags in self.sockets:
                if not hasattr(s, "poll_events"):
                    fd = s if isinstance(s, int) else s.fileno()
                    w = _FdWatch(s, fd, flags)
                    lead = leads.get(fd)
                    if lead is None:
                        leads[fd] = w
                    else:
                        w.lead = lead
                        lead.flags |= flags
                    fds.append(w)
            for w in leads.values():
                ctx.reactor.poller.register(w, bool(w.flags & C.POLLIN), bool(w.flags & C.POLLOUT))
            try:
                ready = self._ready(fds)
                if ready or timeout == 0:
                    if not ready:
                        ctx.poll_nowait()
                        ready = self._ready(fds)
                    return ready
                start = ticks_ms()
                while True:
                    wait = -1
                    if timeout >= 0:
                        wait = timeout - ticks_diff(ticks_ms(), start)
                        if wait <= 0:
                            return self._ready(fds)
                    ctx.wait(wait)
                    if ctx.terminated_flag and of_sockets:
                        raise ContextTerminated()  # term() in another thread
                    ready = self._ready(fds)
                    if ready:
                        return ready
            finally:
                for w in fds:
                    w.active = False
                    try:
                        ctx.reactor.poller.unregister(w)
                    except (KeyError, ValueError, OSError):
                        pass


def select(rlist, wlist, xlist, timeout=None):
    """zmq.select: timeout in seconds, as pyzmq."""
    p = Poller()
    flags = {}  # id -> [object, events]: a socket in several lists is polled once
    for lst, ev in ((rlist, C.POLLIN), (wlist, C.POLLOUT), (xlist, C.POLLERR)):
        for s in lst:
            flags.setdefault(id(s), [s, 0])[1] |= ev
    for s, ev in flags.values():
        p.register(s, ev)
    ms = None if timeout is None or timeout < 0 else int(timeout * 1000)
    ready = p.poll(ms)
    r, w, x = [], [], []
    for s, ev in ready:
        if ev & C.POLLIN:
            r.append(s)
        if ev & C.POLLOUT:
            w.append(s)
        if ev & C.POLLERR:
            x.append(s)
    return r, w, x  # a raw object comes back as its fd, as in pyzmq
