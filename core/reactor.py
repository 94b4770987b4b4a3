"""The reactor: one poller and one timer list per context.

Nothing here blocks except poll(). Blocking socket calls run `run_once`
until they can return, so the same loop drives a microcontroller, a
CPython program, or CPython's optional I/O thread (see context.py).
Handlers are objects with `pobj` (what the port's poller polls: a stream,
an fd) and `on_event(readable, writable, error)`.
"""
from ._compat import ticks_diff, ticks_ms


class Timer:
    __slots__ = ("due", "cb", "live")

    def __init__(self, due, cb):
        self.due = due
        self.cb = cb
        self.live = True

    def cancel(self):
        self.live = False


class Reactor:
    def __init__(self, port):
        self.port = port
        self.poller = port.poller()
        self.timers = []
        self.closed = False
        self.on_timer_added = None

    # -- registration ------------------------------------------------------
    def add(self, handler, write=False):
        self.poller.register(handler, True, write)

    def want_write(self, handler, write):
        self.poller.modify(handler, getattr(handler, "reading", True), write)

    def set_interest(self, handler, read, write):
        self.poller.modify(handler, read, write)

    def remove(self, handler):
        self.poller.unregister(handler)

    # -- timers ------------------------------------------------------------
    def call_later(self, ms, cb):
        t = Timer(ticks_ms() + ms, cb)
        self.timers.append(t)
        if self.on_timer_added is not None:
            self.on_timer_added()
        return t

    def _next_timeout(self, timeout):
        """Milliseconds until the earliest live timer, capped by timeout (-1 = none).

        Cancelled timers are dropped here, but only when there are some: the
        usual turn allocates nothing (a device runs this on every poll)."""
        timers = self.timers
        if not timers:
            return timeout
        now = ticks_ms()
        best = timeout
        dead = 0
        for t in timers:
            if not t.live:
                dead += 1
                continue
            d = ticks_diff(t.due, now)
            d = 0 if d < 0 else d
            if best < 0 or d < best:
                best = d
        if dead:
            self.timers = [t for t in timers if t.live]
        return best

    def _run_timers(self):
        timers = self.timers
        if not timers:
            return
        now = ticks_ms()
        due = None  # built only when a timer is due (and no comprehension:
        for t in timers:  # one capturing `now` would allocate a cell per call)
            if t.live and ticks_diff(t.due, now) <= 0:
                if due is None:
                    due = []
                due.append(t)
        if due is None:
            return
        for t in due:
            t.live = False
        self.timers = [t for t in timers if t.live]
        for t in due:
            t.cb()

    # -- one turn ------------------------------------------------------------
    def run_once(self, timeout_ms, unlock=None, relock=None):
        """Poll once (-1 = wait forever), dispatch I/O, then due timers.

        unlock/relock let a threaded owner release its lock while blocked.
        """
        timeout = self._next_timeout(timeout_ms)
        if unlock is not None and timeout != 0:
            unlock()
            try:
                events = self.poller.poll(timeout)
            finally:
                relock()
        else:
            events = self.poller.poll(timeout)
        n = 0
        for ev in events:
            if ev is None:
                break  # a poller that reuses its list ends the events with None
            n += 1
            handler, r, w, e = ev
            if handler.active:
                handler.on_event(r, w, e)
        self._run_timers()
        return n
