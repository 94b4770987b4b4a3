"""Runs of data frames from a port's frame scanner (ports/cpython/zmtpfast.py),
delivered in one call per run instead of a chain of calls per frame.

The port installs these as methods of Connection, Session and FrameQueue
when its scanner is active. A device has no scanner and never imports this
module (core/cli/bundle.py leaves it out), so its classes stay as small as
they are. Each method gives the same result as the frame-by-frame path."""
from .zmtp.connection import READY

_MESSAGE = b"\x07MESSAGE"
_BOXED_COMMAND = 2  # in a MESSAGE box's flags: the payload is a command


def connection_on_data_run(self, flags, bodies, sizes):
    """Connection.on_data_run: a run of data frames (no command among them).
    -> True when they went to the data sink in one call (ready, no event in
    front of them; boxes opened first where the mechanism wraps traffic);
    False: give them to on_frame one by one."""
    if self.mech.wraps:  # libzmq sends CURVE's MESSAGE boxes as data frames
        return connection_on_box_run(self, flags, bodies, sizes)
    if self.state != READY or self.events is not None:
        return False
    run = getattr(self.sink, "on_data_run", None)  # optional in a data sink
    if run is None:
        return False
    run(flags, bodies, sizes)
    return True


def connection_on_box_run(self, flags, bodies, sizes):
    """Connection.on_box_run: a run of frames on a connection whose mechanism
    boxes traffic (CURVE), opened in order as on_frame would open each, the
    data among them handed to the data sink in runs. -> False: give them to
    on_frame (not ready, no run sink, events pending); nothing was taken."""
    if self.state != READY or not self.mech.wraps or self.events is not None:
        return False
    run = getattr(self.sink, "on_data_run", None)
    if run is None:
        return False
    decode = self.mech.decode
    fl = []
    bo = []
    si = []
    k = len(bodies)
    i = 0
    try:
        decode_run = getattr(self.mech, "decode_run", None)  # (a port's run in C)
        if decode_run is not None:
            i = decode_run(bodies, sizes, fl, bo, si)
        while i < k:
            buf = bodies[i]  # (a bytes object of exactly sizes[i] bytes)
            if buf[:8] != _MESSAGE:
                break  # on_frame refuses it below, after what came before
            f, data = decode(buf)
            i += 1
            if f & _BOXED_COMMAND:  # the data before it first, then the command, as _on_box
                if bo:
                    run(fl, bo, si)
                    fl, bo, si = [], [], []
                self._on_command(data, len(data))
                break  # (it may have queued an event: the rest one by one)
            fl.append(f & 1)
            bo.append(data)
            si.append(len(data))
    finally:
        if bo:  # delivered even when a later box fails, as frame by frame
            run(fl, bo, si)
    for j in range(i, k):
        self.on_frame(flags[j], bodies[j], sizes[j])
    return True


def session_on_data_run(self, flags, bodies, sizes):
    """Session.on_data_run: queued in one call where the pattern only queues
    frames (plain_in); else each frame as on_data would take it."""
    sock = self.sock
    pattern = sock.pattern
    if self.conflate or sock.closed or not (pattern.plain_in or pattern.run_passes(self, flags)):
        for i in range(len(bodies)):
            self.on_data(bodies[i], sizes[i], flags[i] & 1)
        return
    self.inq.push_run(flags, bodies, sizes)


def pattern_run_passes(self, pipe, flags):
    """Pattern.run_passes: may a run of frames be queued as is? (no, by default)"""
    return False


def sub_run_passes(self, pipe, flags):
    """Sub.run_passes: yes while the SUB takes every topic and is not in the
    middle of skipping a message (on_pipe_frame's state follows the run)."""
    if b"" not in self.topics.counts or getattr(pipe, "_skip", False) and getattr(pipe, "_cont", False):
        return False
    pipe._cont = flags[-1] & 1
    pipe._skip = False
    return True


def queue_push_run(self, flags, bodies, sizes):
    """FrameQueue.push_run: push() for each frame (MORE is bit 0 of flags[i]),
    the ring's state in locals for the whole run."""
    k = len(bodies)
    while self.count + k > len(self.bufs):
        self._grow()
    bufs = self.bufs
    cap = len(bufs)
    i = self.head + self.count
    if i >= cap:
        i -= cap
    if i + k <= cap and 1 not in flags and 3 not in flags:
        # one-frame messages into one stretch of the ring: three slice
        # assignments, no bytecode per frame (flags 0 or 2: MORE is clear)
        bufs[i : i + k] = bodies
        self.lens[i : i + k] = sizes
        self.more[i : i + k] = bytes(k)
        self.count += k
        self.msgs += k
        self.partial = 0
    else:
        lens = self.lens
        more = self.more
        msgs = self.msgs
        partial = self.partial
        for j in range(k):
            bufs[i] = bodies[j]
            lens[i] = sizes[j]
            if flags[j] & 1:
                more[i] = 1
                partial += 1
            else:
                more[i] = 0
                partial = 0
                msgs += 1
            i += 1
            if i == cap:
                i = 0
        self.count += k
        self.msgs = msgs
        self.partial = partial
    if self.msgs and not self.listed and self.ready is not None:
        self.listed = True
        self.ready.append(self.owner)


def install():
    from .patterns.base import Pattern
    from .patterns.pubsub import Sub
    from .pool import FrameQueue
    from .session import Session
    from .zmtp.connection import Connection

    Pattern.run_passes = pattern_run_passes
    Sub.run_passes = sub_run_passes
    Connection.on_data_run = connection_on_data_run
    Connection.on_box_run = connection_on_box_run
    Session.on_data_run = session_on_data_run
    FrameQueue.push_run = queue_push_run
