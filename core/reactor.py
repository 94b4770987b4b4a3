"""The reactor: one poller and one timer list per context.

Nothing here blocks except poll(). Blocking socket calls run `run_once`
until they can return, so the same loop drives a microcontroller, a
CPython program, or CPython's optional I/O thread (see context.py).
Handlers are objects with `pobj` (what the port's poller polls: a stream,
an fd) and `on_event(readable, writable, error)`.

A callback that raises (a MemoryError on a device out of heap, or a bug)
must not stop the loop that serves every other connection: the handler, or
the timer's owner, gets `on_fault(exc)` and closes what it must (an engine
closes its connection); the loop goes on. Nothing on that path allocates,
and neither does a turn's timer bookkeeping: a device out of memory keeps
running its timers and serving the connections that need no new memory.
"""
from ._compat import ticks_diff, ticks_ms


class Timer:
    __slots__ = ("due", "cb", "live", "owner")

    def __init__(self, due, cb, owner=None):
        self.due = due
        self.cb = cb
        self.live = True
        self.owner = owner  # what on_fault closes when cb raises (None: nothing)

    def cancel(self):
        self.live = False


class Reactor:
    closed = False
    on_timer_added = None  # (Context sets it where a thread may be blocked in poll)

    def __init__(self, port):
        self.port = port
        self.poller = port.poller()
        self.timers = []
        # owners whose retry() found no heap (a connecter's redial timer): they
        # retry on the next turns. An empty list has room for four on
        # MicroPython: appending them allocates nothing
        self.deferred = []

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
    def call_later(self, ms, cb, owner=None):
        """cb() in ms milliseconds; owner.on_fault(exc) if it raises."""
        t = Timer(ticks_ms() + ms, cb, owner)
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
            _drop_dead(timers)
        return best

    def _run_timers(self):
        """Fire the timers due now, in the order they were set; a timer set
        (or re-armed) by a callback waits for the next turn, a timer cancelled
        by an earlier callback of this turn does not fire."""
        timers = self.timers
        n = len(timers)
        if not n:
            return
        now = ticks_ms()
        fired = False
        i = 0
        while i < n and i < len(timers):  # (by index: no iterator, no list of the due ones)
            t = timers[i]
            i += 1
            if t.live and ticks_diff(t.due, now) <= 0:
                t.live = False
                fired = True
                try:
                    t.cb()
                except Exception as e:
                    if not self.fault(t.owner, e):
                        raise
        if fired:
            _drop_dead(timers)

    # -- faults ------------------------------------------------------------------
    def fault(self, owner, exc):
        """A callback raised exc: owner.on_fault(exc) closes what it belongs
        to. -> False when nobody can (no owner, and not a MemoryError): the
        caller re-raises. Allocates nothing for a MemoryError."""
        if owner is None or not hasattr(owner, "on_fault"):  # (hasattr: no bound method made)
            return isinstance(exc, MemoryError)  # a lost callback, but the loop goes on
        try:
            owner.on_fault(exc)
        except MemoryError:
            pass  # closing needed memory after all: what is closed stays closed
        return True

    # -- one turn ------------------------------------------------------------
    def run_once(self, timeout_ms, unlock=None, relock=None):
        """Poll once (-1 = wait forever), dispatch I/O, then due timers.

        unlock/relock let a threaded owner release its lock while blocked.
        """
        timeout = self._next_timeout(timeout_ms) if self.timers else timeout_ms
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
                try:  # one guard per event, none per message
                    handler.on_event(r, w, e)
                except Exception as x:
                    if not self.fault(handler, x):
                        raise
        if self.timers:  # (no call on a turn without timers: a request-reply's)
            self._run_timers()
        d = self.deferred
        if d:
            k = len(d)
            while k:
                k -= 1
                d.pop(0).retry()  # defers itself again while memory is short
        return n


def _drop_dead(timers):
    """Drop cancelled and fired timers, in place (no new list)."""
    k = 0
    for t in timers:
        if t.live:
            timers[k] = t
            k += 1
    while len(timers) > k:
        try:
            timers.pop()
        except MemoryError:
            pass  # MicroPython, heap locked: the list could not shrink; the item is gone
