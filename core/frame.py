"""zmq.Frame / zmq.Message: what recv(copy=False) returns, with the metadata
of the connection it came from."""


class Frame(bytes):
    """pyzmq's zmq.Frame: what recv(copy=False) returns, and what send accepts.

    The bytes of one frame, `more`, and the metadata of the connection it
    came from: frame.get("User-Id") (set by a ZAP handler), "Peer-Address",
    and the peer's READY/INITIATE properties ("Socket-Type", "Identity", ...).
    A name the connection does not have raises ZMQError(EINVAL), as libzmq's
    zmq_msg_gets does.
    """

    tracker = None  # Frame(data, track=True): a MessageTracker, done when the frame is gone (core/tracker.py)

    def __new__(cls, data=b"", track=False, copy=None, copy_threshold=None, more=False, pipe=None):
        if isinstance(data, (int, str)):  # bytes(5) would be five zeros; pyzmq refuses both
            raise TypeError("Frame data must be bytes-like, not %s" % type(data).__name__)
        if isinstance(data, memoryview) and not data.contiguous:  # port-ok: CPython only (MicroPython views are contiguous)
            raise BufferError("Frame data must be a contiguous buffer")  # port-ok: CPython only
        f = bytes.__new__(cls, data)
        f.more = bool(more)
        f._pipe = pipe
        if track:  # done when this frame and its copies are gone (edgezmq copies what it sends)
            from .tracker import track_frame  # port-ok: CPython only (MicroPython has no tracker)

            f.tracker = track_frame(f, copy, copy_threshold)
        return f

    @property
    def bytes(self):
        """A plain bytes copy, made once (pyzmq's Frame.bytes)."""
        b = self.__dict__.get("_bytes")
        if b is None:
            b = self.__dict__["_bytes"] = bytes(self)
        return b

    @property
    def buffer(self):
        """A memoryview of the frame, made once (read-only: edgezmq frames are bytes)."""
        m = self.__dict__.get("_buffer")
        if m is None:
            m = self.__dict__["_buffer"] = memoryview(self)
        return m

    def __repr__(self):
        """As pyzmq's: <edgezmq.Frame(b'...')>, long frames cut to 12 bytes and a size."""
        n = len(self)
        if n <= 16:
            return "<edgezmq.Frame(%r)>" % (self.bytes,)
        for unit, size in (("GB", 10**9), ("MB", 2**20), ("kB", 1000), ("B", 1)):
            if n >= size:
                div = 10**6 if unit == "MB" else size
                return "<edgezmq.Frame(%r...%d%s)>" % (bytes(self[:12]), n // div, unit)

    __str__ = __repr__

    def __getitem__(self, key):
        """frame["User-Id"] is frame.get("User-Id"), as pyzmq; ints and slices index the bytes."""
        if isinstance(key, str):
            return self.get(key)
        return bytes.__getitem__(self, key)

    def get(self, option):
        from . import constants as C
        from .errors import ZMQError

        if not isinstance(option, str):
            if option == C.MORE:
                return int(self.more)
            raise ZMQError(C.EINVAL)
        pipe = self._pipe
        value = None
        if pipe is not None:
            key = option.lower()
            if key == "user-id":
                value = pipe.user_id or None
            elif key == "peer-address":
                value = _peer_ip(pipe.peer_address)
            else:
                value = (pipe.peer_meta or {}).get(key.encode())
        if value is None:
            raise ZMQError(C.EINVAL, "no %r property on this frame" % option)
        return value.decode() if isinstance(value, (bytes, bytearray)) else value


Message = Frame


def frame_of(sock, data, more):
    """A received frame with its connection's metadata (Socket.recv(copy=False))."""
    p = sock.pattern
    return Frame(data, more=more, pipe=getattr(p, "last_pipe", None) or getattr(p, "reply_pipe", None))


def _peer_ip(addr):
    """libzmq's Peer-Address is the host alone: "127.0.0.1", not "127.0.0.1:5555"."""
    if isinstance(addr, (bytes, bytearray)):
        addr = addr.decode()
    if not addr or addr == "ipc":
        return None
    host = addr.rsplit(":", 1)[0] if addr.count(":") == 1 or addr.startswith("[") else addr
    return host.strip("[]")
