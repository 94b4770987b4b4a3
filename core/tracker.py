"""pyzmq's MessageTracker (zmq.sugar.tracker), CPython only.

edgezmq copies what it sends before send() returns, so a tracker is done at
once: send(..., copy=False) returns the finished tracker where pyzmq returns
one (track=True, or a frame under pyzmq's copy threshold), and None elsewhere."""
from __future__ import annotations

import threading  # port-ok: CPython only
import time  # port-ok: CPython only
from typing import Any  # port-ok: CPython only

from .errors import ZMQBaseError

COPY_THRESHOLD = 65536  # pyzmq's Socket.copy_threshold default


class NotDone(ZMQBaseError):
    """MessageTracker.wait() timed out."""


class MessageTracker:
    """Is edgezmq done with the message(s)? Tracks threading.Events, other
    trackers and tracked Frames, as pyzmq's."""

    def __init__(self, *towatch: Any) -> None:
        self.events: set[threading.Event] = set()
        self.peers: set[MessageTracker] = set()
        for obj in towatch:
            if isinstance(obj, threading.Event):
                self.events.add(obj)
            elif isinstance(obj, MessageTracker):
                self.peers.add(obj)
            elif getattr(obj, "tracker", None) is not None:
                self.peers.add(obj.tracker)
            else:
                raise TypeError("Require Events or Message Frames, not %s" % type(obj))

    @property
    def done(self) -> bool:
        return all(e.is_set() for e in self.events) and all(p.done for p in self.peers)

    def wait(self, timeout: float | int = -1) -> None:
        """Return when done; NotDone after `timeout` seconds (-1: no limit)."""
        end = None if timeout is False or timeout < 0 else time.monotonic() + timeout
        for e in self.events:
            if not e.wait(None if end is None else max(0.0, end - time.monotonic())):
                raise NotDone
        for p in self.peers:
            p.wait(-1 if end is None else max(0.0, end - time.monotonic()))


FINISHED = MessageTracker()


def sent_tracker(data, track: bool):
    """What pyzmq's send(data, copy=False, track=track) returns."""
    if track or memoryview(data).nbytes < COPY_THRESHOLD:
        return FINISHED
    return None
