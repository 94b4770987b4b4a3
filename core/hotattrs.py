"""CPython only: class defaults that the per-message paths read, copied into
each instance when it is made.

A device keeps a flag's or an option's default on the class: an instance
attribute costs heap there. CPython (3.11+) specialises the read of an
instance attribute to a pointer test, but not the read of a class default
through an instance, which stays a generic lookup (the type's MRO, then the
instance dict). The send and recv fast paths read several per message
(docs/performance.md, fourth round)."""

_setraw = object.__setattr__

# class -> the defaults it copies (read on every message)
HOT = {
    "Socket": ("closed", "rcvmore", "sending_more"),  # send()/recv() fast paths
    # Session.fast_send, the recv paths' RCVHWM/CONFLATE/timeout tests, REQ's send
    "Options": ("sndhwm", "rcvhwm", "conflate", "rcvtimeo", "sndtimeo", "req_correlate", "req_relaxed",
                "router_mandatory"),
    "Context": ("terminated_flag", "async_waiters"),  # send()/recv() fast paths; each wake-up
    "Mechanism": ("wraps",),  # Connection.send_frame
    "Pipe": ("fast_ok", "conflate", "active"),  # Pub.fast_send per subscriber; Session.on_data per frame
    "Session": ("drop_rest", "outq"),  # Session.write per frame, on_sent per write
    "Pattern": ("fast_out", "fast_in", "plain_in", "prune_wanted"),  # send()/recv(), Session.on_data
    "Engine": ("held_end", "reading", "active", "dirty", "_want_w"),  # each read and flush
    "FrameQueue": ("ready",),  # FrameQueue.push per frame
    "Connection": ("peer_ttl",),  # each read
}


def _copying(init, names):
    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        for name in names:
            _setraw(self, name, getattr(self, name))  # (Socket.__setattr__ would take options)

    __init__.__doc__ = init.__doc__
    return __init__


def install(*classes):
    """Wrap each class's __init__ (once) so that its HOT names become instance attributes."""
    for cls in classes:
        if not cls.__dict__.get("_hot_installed"):
            cls.__init__ = _copying(cls.__init__, HOT[cls.__name__])
            cls._hot_installed = True
