"""pyzmq's MessageTracker (zmq.sugar.tracker), CPython only.

A tracker says when the buffer of a zero-copy message is free again.
edgezmq copies what it sends before send() returns, so:
- send(data, copy=False) returns a finished tracker where pyzmq returns one
  (track=True, or data under the socket's copy_threshold), None elsewhere;
- a Frame made with track=True has a tracker that is done once the Frame
  (and every copy of it) is gone, as in pyzmq, and send(frame, copy=False)
  returns that tracker."""
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
            elif isinstance(obj, bytes) and hasattr(obj, "tracker"):  # a Frame
                if obj.tracker is None:
                    raise ValueError("Not a tracked message")
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


FINISHED = MessageTracker()  # pyzmq's zmq._FINISHED_TRACKER


class _Release:
    """Kept in a tracked Frame's __dict__ (shared by its copies): when the
    last of them is gone, so is this, and the tracker is done. (A bytes
    subclass takes no weak references, hence no weakref.finalize.)"""

    __slots__ = ("event",)

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __del__(self) -> None:
        self.event.set()


def track_frame(frame: Any, copy: bool | None, threshold: int | None) -> MessageTracker:
    """Frame(..., track=True)'s tracker, as pyzmq's: done when the frame is
    released; done at once when the Frame copied its data (copy=True, or
    copy=None and the data under copy_threshold)."""
    event = threading.Event()
    if copy is None:
        copy = len(frame) < (COPY_THRESHOLD if threshold is None else threshold)
    if copy:
        event.set()
    else:
        frame.__dict__["_release"] = _Release(event)
    return MessageTracker(event)


def sent_tracker(data, track: bool, threshold: int = COPY_THRESHOLD):
    """What pyzmq's send(data, copy=False, track=track) returns: a Frame's
    own tracker (ValueError for track=True and an untracked Frame; checked
    after the frame went, where pyzmq checks before), else done at once."""
    if isinstance(data, bytes) and hasattr(data, "tracker"):  # a Frame
        if track and data.tracker is None:
            raise ValueError("Not a tracked message")
        return data.tracker
    if track or memoryview(data).nbytes < threshold:
        return FINISHED
    return None
