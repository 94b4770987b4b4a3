"""One ZMTP connection as a sans-IO state machine: greeting, handshake, traffic.

The contract has the shape of transports/serial/link.py's Link. The owner
(the stream engine, the serial driver's channel, or a test) moves bytes and
time; the connection never touches a socket, a clock or a thread:

    conn = Connection(config, now, sink)
    conn.receive_data(data, n, now)   # data[0:n] read from the stream
    out = conn.pending_output()       # bytes to write (empty when idle)
    conn.output_sent(k, now)          # the stream took k of them
    conn.tick(now)                    # at conn.next_deadline() (absolute ms, -1: none)
    ev = conn.next_event()            # a control event, or None
    conn.send_frame(data, more)       # a data frame, once READY

Data frames go to `sink.on_data(buf, n, more)` as they complete (buf[0:n]
is the body, a pool slot or a bytes object): the hot path makes no event
objects. Control events are (kind, value) pairs:

    (EV_READY, None)                  handshake done, peer metadata checked
    (EV_SUBSCRIPTION, (topic, on))    SUBSCRIBE / CANCEL from the peer
    (EV_ZAP_REQUEST, frames)          answer with zap_reply(reply_frames)
    (EV_ERROR, (cause, reason))       fatal: the state is CLOSED; write what
                                      pending_output() still holds (an ERROR
                                      command), then close the stream

`state` is GREETING, HANDSHAKE, READY or CLOSED. Nothing outside this class
touches its buffers or its decoder: a big body can be read straight into
its place through read_view(least) / view_filled(n, now), and a big frame
written from the caller's buffer through gather(data, more) /
gather_sent(n, bufs, now).
"""
from .. import security
from .._compat import const, ticks_diff
from ..errors import ProtocolError
from ..security.mechanism import MechanismConfig
from . import greeting
from .frames import FLAG_COMMAND, FLAG_LONG, FLAG_MORE, FrameDecoder, header

GREETING = const(0)
HANDSHAKE = const(1)
READY = const(2)
CLOSED = const(3)
STATE_NAMES = ("GREETING", "HANDSHAKE", "READY", "CLOSED")

EV_READY = const(1)
EV_SUBSCRIPTION = const(2)
EV_ZAP_REQUEST = const(3)
EV_ERROR = const(4)
_EV_DATA = const(5)  # a data frame held behind a pending event (never returned)

# what ended a connection (the value of EV_ERROR is (cause, reason))
CAUSE_PROTOCOL = const(1)  # a malformed or refused handshake or frame
CAUSE_AUTH = const(2)  # the ZAP handler said no
CAUSE_HEARTBEAT = const(3)  # the peer went silent
CAUSE_PEER_ERROR = const(4)  # the peer sent ERROR

_BOXED_COMMAND = const(2)  # flag inside a CURVE MESSAGE box: the payload is a command
_PING_CONTEXT_MAX = const(16)
_TX_SPARE = const(64)  # a device's output buffer holds a slot-sized body and this much more (headers, small frames)


class ConnectionConfig:
    """Per-connection settings taken from the socket when the stream opens
    (defaults as class attributes: an instance holds only what is set)."""

    type_name = b"PAIR"  # our Socket-Type
    mechanism = b"NULL"
    as_server = False
    identity = b""
    maxmsgsize = -1
    heartbeat_ivl = 0
    heartbeat_ttl = 0
    heartbeat_timeout = -1
    mech_config = None
    peers = None  # the socket types this one may talk to (names, from the type registry)
    send_identity = False  # announce Identity in READY (REQ, DEALER, ROUTER)
    pool = None  # a FramePool for bodies that arrive in pieces
    copy = None  # copy(dst, doff, src, soff, n): short frames go to pool slots too (a device)


class Connection:
    # defaults as class attributes: an instance holds only what differs
    mech = None
    peer_minor = 1  # set only for a peer that speaks another minor version (3.0: 0)
    peer_type = b""
    peer_identity = b""
    next_ping = -1
    ping_sent_at = -1
    peer_ttl = 0  # ms, from the peer's PING
    events = None  # control events not taken yet (a list only when there are some)

    def __init__(self, config, now, sink=None, peer_address=b""):
        self.config = config
        self.peer_address = peer_address  # for the mechanism (ZAP's address)
        self.sink = sink
        self.state = GREETING
        g = greeting.build(config.mechanism, config.as_server)
        self.tx = tx = bytearray(g)
        self.peer_greeting = bytearray(greeting.SIZE + 1)  # the peer's, as greeting.feed fills it
        self.decoder = FrameDecoder(self, config.maxmsgsize)
        pool = config.pool
        if config.copy is not None:  # a device: short frames into pool slots too
            self.decoder.pool = pool
            self.decoder.copy = config.copy
            # room to send a message up to a slot, made here (where running out
            # of heap refuses the connection) and kept: an output buffer grown a
            # few bytes at a time mid-traffic soon finds no block that fits on a
            # fragmented heap (a bigger message still grows it)
            t = config.type_name
            if t == b"PUSH" or t == b"PUB" or t == b"REP":
                self.tx = tx = bytearray(pool.size + _TX_SPARE)
                tx[:] = g
        self.last_rx = now
        self.last_tx = now

    # -- bytes in --------------------------------------------------------
    def receive_data(self, data, n, now, pos=0):
        """Consume data[pos:n]. -> where it stopped: n, or earlier when a
        device's frame pool is out of slots (feed the rest again later). A
        fatal error becomes an EV_ERROR event."""
        if self.state == CLOSED:
            return n
        if n > pos:
            self.last_rx = now
        try:
            if self.state == GREETING:
                g = self.peer_greeting
                pos = greeting.feed(g, data, pos, n)
                if g[greeting.SIZE] < greeting.SIZE:
                    return n
                self._on_greeting()
                # neither the parser (a 64-byte buffer) nor the address (the
                # mechanism has it) is needed any more: del frees their slots for
                # what READY adds, so a device's instance table stays small
                del self.peer_greeting, self.peer_address
            if pos < n:
                return self.decoder.feed(data, pos, n)
        except ProtocolError as e:
            self._fail(CAUSE_PROTOCOL, e)
        except MemoryError:
            self._fail(CAUSE_PROTOCOL, "out of memory while receiving")
        return n

    def read_view(self, least):
        """Where the rest of a big body may be read directly (a memoryview of
        at least `least` bytes), or None: then read into a buffer of your own
        and pass it to receive_data."""
        if self.state != READY:
            return None
        return self.decoder.body_view(least)

    def view_filled(self, n, now):
        """n bytes were read into read_view()."""
        self.last_rx = now
        try:
            self.decoder.body_filled(n)
        except ProtocolError as e:
            self._fail(CAUSE_PROTOCOL, e)

    def _on_greeting(self):
        g = self.peer_greeting  # byte 10 major, 11 minor, 12-31 mechanism (NUL-padded)
        cfg = self.config
        if g[10] == 3 and g[11] != 1:
            self.peer_minor = g[11]
        mech = bytes(g[12:32])
        i = mech.find(b"\x00")
        if i >= 0:
            mech = mech[:i]
        if mech != cfg.mechanism:
            raise ProtocolError("mechanism mismatch: peer %r, ours %r" % (mech, cfg.mechanism))
        # roles come from our own options: libzmq does not fill in as-server
        # reliably (a CURVE server announces 0), so the byte is not checked
        meta = [(b"Socket-Type", cfg.type_name)]
        if cfg.identity and cfg.send_identity:
            meta.append((b"Identity", cfg.identity))
        mcfg = cfg.mech_config or MechanismConfig()
        peer = self.peer_address
        if isinstance(peer, str):
            peer = peer.encode()
        self.mech = security.create(cfg.mechanism, mcfg, cfg.as_server, meta, peer)
        self.state = HANDSHAKE
        self.mech.start()
        self._flush_mech()
        self._take_zap_request()  # NULL with a ZAP domain asks at once

    def _flush_mech(self):
        m = self.mech
        for body in m.out:
            self.tx += header(FLAG_COMMAND, len(body))
            self.tx += body
        m.out.clear()

    def _take_zap_request(self):
        req = self.mech.zap_request
        if req is not None:
            self.mech.zap_request = None
            self._event(EV_ZAP_REQUEST, req)

    # -- FrameDecoder sink -------------------------------------------------
    def alloc(self, n):
        pool = self.config.pool
        if pool is None:
            return bytearray(n)
        buf = pool.take(n)
        if buf is None:
            raise ProtocolError("no buffer for a %d-byte frame" % n)
        return buf

    def on_frame(self, flags, buf, n):
        if self.state == READY:
            mech = self.mech
            if mech.wraps:
                # libzmq carries MESSAGE in plain frames and every command after
                # READY inside a box: anything else is an injection
                if _command_name(buf, n) != b"MESSAGE":
                    raise ProtocolError("unencrypted frame on a %s connection" % mech.name.decode())
                self._on_box(buf, n)
            elif flags & FLAG_COMMAND:
                self._on_command(buf, n)
            elif self.events is None:
                self.sink.on_data(buf, n, flags & FLAG_MORE)
            else:
                self._event(_EV_DATA, (buf, n, flags & FLAG_MORE))  # keeps its place after READY
            return
        if self.state != HANDSHAKE:
            raise ProtocolError("frame after close")
        if not flags & FLAG_COMMAND:
            raise ProtocolError("data frame before the handshake finished")
        try:
            self.mech.on_command(bytes(buf[:n]) if n != len(buf) else buf)
        finally:
            self._flush_mech()
        self._take_zap_request()
        if self.mech.ready:
            self._on_mech_ready()

    def _on_box(self, buf, n):
        """A MESSAGE box: a data frame, or a command (flag 0x02) such as SUBSCRIBE or PING."""
        flags, data = self.mech.decode(memoryview(buf)[:n])
        if flags & _BOXED_COMMAND:
            self._on_command(data, len(data))
        elif self.events is None:
            self.sink.on_data(data, len(data), flags & FLAG_MORE)
        else:
            self._event(_EV_DATA, (data, len(data), flags & FLAG_MORE))

    def zap_reply(self, frames):
        """The ZAP handler's reply to an EV_ZAP_REQUEST."""
        if self.state != HANDSHAKE:
            return
        try:
            try:
                self.mech.on_zap_reply(frames)
            finally:
                self._flush_mech()
            if self.mech.ready:
                self._on_mech_ready()
        except ProtocolError as e:
            self._fail(CAUSE_AUTH, e)

    def _on_mech_ready(self):
        meta = self.mech.peer_meta
        st = meta.get(b"socket-type", b"")
        peers = self.config.peers
        if peers is None or st not in peers:
            try:  # ERROR "Invalid socket type" goes out before the close, as libzmq's
                self.tx += b"\x04\x1a\x05ERROR\x13Invalid socket type"
            except Exception:
                pass
            raise ProtocolError(
                "peer socket type %r cannot talk to %s" % (st, self.config.type_name.decode())
            )
        ident = meta.get(b"identity", b"")
        if len(ident) > 255 or (ident and ident[0] == 0):
            raise ProtocolError("invalid peer identity")
        self.peer_type = st  # (the rest of the metadata is mech.peer_meta)
        if ident:
            self.peer_identity = ident
        self.state = READY
        if self.config.heartbeat_ivl > 0:
            self.next_ping = 0  # ping at the first tick
        self._event(EV_READY, None)

    def _on_command(self, buf, n):
        ln = buf[0] if n else 0
        if n < 1 or ln == 0 or ln > n - 1:
            raise ProtocolError("malformed command")
        name = bytes(buf[1 : 1 + ln])
        if name == b"PING":
            if n - 1 - ln < 2:
                raise ProtocolError("malformed PING")
            ttl = (buf[1 + ln] << 8) | buf[2 + ln]
            self.peer_ttl = ttl * 100
            ctx = bytes(buf[3 + ln : min(n, 3 + ln + _PING_CONTEXT_MAX)])
            self._send_command(b"\x04PONG" + ctx)
        elif name == b"PONG":
            self.ping_sent_at = -1
        elif name == b"SUBSCRIBE":
            self._event(EV_SUBSCRIPTION, (bytes(buf[1 + ln : n]), True))
        elif name == b"CANCEL":
            self._event(EV_SUBSCRIPTION, (bytes(buf[1 + ln : n]), False))
        elif name == b"ERROR":
            r = bytes(buf[2 + ln : n]) if n > 1 + ln else b""
            raise ProtocolError("peer sent ERROR: %s" % r.decode("utf-8", "replace"))
        # unknown commands are ignored, as RFC 37 allows

    # -- events -------------------------------------------------------------
    def _event(self, kind, value):
        if self.events is None:
            self.events = []
        self.events.append((kind, value))

    def next_event(self):
        """-> the oldest control event (kind, value) not taken yet, or None.

        Data frames that arrived after a pending event (those behind READY in
        the same read) wait in the queue with it, and go to the sink here,
        once the owner has taken the event before them."""
        ev = self.events
        while ev:
            e = ev.pop(0)
            if e[0] != _EV_DATA:
                if not ev:
                    self.events = None
                return e
            v = e[1]
            self.sink.on_data(v[0], v[1], v[2])
        self.events = None
        return None

    def _fail(self, cause, why):
        if self.state == CLOSED:
            return
        self.state = CLOSED
        reason = str(why)
        if cause == CAUSE_PROTOCOL and reason.startswith("peer sent ERROR"):
            cause = CAUSE_PEER_ERROR
        self._event(EV_ERROR, (cause, reason))

    def close(self):
        """The owner closes the stream: no more input or events."""
        self.state = CLOSED

    # -- bytes out -------------------------------------------------------
    def pending_output(self):
        """The bytes waiting to be written (a bytearray; empty when idle)."""
        return self.tx

    def output_sent(self, n, now):
        """The stream took the first n bytes of pending_output()."""
        tx = self.tx
        if n >= len(tx):
            tx[:] = b""  # MicroPython bytearrays have no slice deletion
        else:
            tx[:n] = b""
        self.last_tx = now

    def _send_command(self, body):
        if self.mech is not None and self.mech.wraps and self.state == READY:
            self._send(body, _BOXED_COMMAND)
            return
        self.tx += header(FLAG_COMMAND, len(body))
        self.tx += body

    def send_frame(self, data, more):
        """Queue one data frame (more: 1 when more frames of the message follow).
        -> the bytes now pending (len(pending_output())). A MemoryError leaves
        the output as it was: a header queued without its body would corrupt
        every frame after it (a device out of heap raises it to the sender and
        keeps the connection)."""
        tx = self.tx
        k = len(tx)
        try:
            if self.mech.wraps:
                self._send(data, more & FLAG_MORE)
                return len(tx)
            n = len(data)
            if n < 256:  # the header byte by byte: no bytes object per frame
                tx.append(more & FLAG_MORE)
                tx.append(n)
            else:  # (written out: no call to header() per frame)
                tx.append((more & FLAG_MORE) | FLAG_LONG)
                tx += n.to_bytes(8, "big")
            tx += data
        except MemoryError:
            tx[k:] = b""  # (a bytearray slice assignment allocates nothing)
            raise
        return len(tx)

    def _send(self, data, flags):
        # libzmq sends MESSAGE in a plain frame (flags 0) and expects the same
        body = self.mech.encode(flags, data)
        self.tx += header(0, len(body))
        self.tx += body

    def gather(self, data, more):
        """Buffers that write a big data frame straight from `data` after what
        is queued (for a stream with scatter/gather writes), or None when the
        frame must be queued with send_frame (the mechanism boxes it)."""
        if self.mech.wraps:
            return None
        hdr = header(more & FLAG_MORE, len(data))
        return (self.tx, hdr, data) if self.tx else (hdr, data)

    def gather_sent(self, n, bufs, now):
        """n bytes of gather()'s buffers were written: what is left is queued."""
        tx = self.tx
        if len(bufs) == 3:
            old = len(tx)
            if n < old:
                self.output_sent(n, now) if n else None
                tx += bufs[1]
                tx += bufs[2]
                return
            if old:
                self.output_sent(old, now)
            n -= old
        hdr, data = bufs[-2], bufs[-1]
        if n < len(hdr):
            tx += hdr[n:]
            tx += data
        elif n - len(hdr) < len(data):
            tx += memoryview(data)[n - len(hdr) :]
        self.last_tx = now

    def send_subscription(self, topic, on):
        """SUBSCRIBE/CANCEL in the form the peer's version expects."""
        if self.peer_minor >= 1:
            self._send_command((b"\x09SUBSCRIBE" if on else b"\x06CANCEL") + topic)
        else:
            self.send_frame((b"\x01" if on else b"\x00") + topic, 0)

    # -- timers ------------------------------------------------------------
    def tick(self, now):
        """Heartbeats: send PING, detect a silent peer (an EV_ERROR)."""
        if self.state != READY:
            return
        cfg = self.config
        if cfg.heartbeat_ivl > 0:
            if self.next_ping == 0 or ticks_diff(now, self.next_ping) >= 0:
                ttl = cfg.heartbeat_ttl // 100 if cfg.heartbeat_ttl > 0 else 0
                self._send_command(b"\x04PING" + bytes(((ttl >> 8) & 0xFF, ttl & 0xFF)))
                if self.ping_sent_at < 0:
                    self.ping_sent_at = now
                self.next_ping = now + cfg.heartbeat_ivl
            if self.ping_sent_at >= 0 and ticks_diff(self.last_rx, self.ping_sent_at) >= 0:
                self.ping_sent_at = -1  # any traffic counts as liveness
            timeout = cfg.heartbeat_timeout if cfg.heartbeat_timeout >= 0 else cfg.heartbeat_ivl
            if self.ping_sent_at >= 0 and ticks_diff(now, self.ping_sent_at) > timeout:
                self._fail(CAUSE_HEARTBEAT, "heartbeat timeout: no traffic for %d ms" % timeout)
                return
        if self.peer_ttl > 0 and ticks_diff(now, self.last_rx) > self.peer_ttl:
            self._fail(CAUSE_HEARTBEAT, "peer heartbeat TTL of %d ms expired" % self.peer_ttl)

    def next_deadline(self):
        """Earliest time tick() has work, or -1."""
        if self.state != READY:
            return -1
        d = -1
        cfg = self.config
        if cfg.heartbeat_ivl > 0:
            d = self.next_ping
            if self.ping_sent_at >= 0:
                timeout = cfg.heartbeat_timeout if cfg.heartbeat_timeout >= 0 else cfg.heartbeat_ivl
                t = self.ping_sent_at + timeout + 1
                d = t if d < 0 or t < d else d
        if self.peer_ttl > 0:
            t = self.last_rx + self.peer_ttl + 1
            d = t if d < 0 or t < d else d
        return d


def _command_name(buf, n):
    ln = buf[0] if n else 0
    if n < 1 or ln == 0 or ln > n - 1:
        raise ProtocolError("malformed command")
    return bytes(buf[1 : 1 + ln])
