"""One ZMTP connection as a sans-IO state machine: greeting, handshake, traffic.

The owner (the engine in reactor.py, or a test) moves bytes: it feeds what it
read with `receive(data, pos, end)`, writes what `tx` holds and calls
`sent(n)`, and calls `tick(now)` for heartbeats. Events go to the owner:
  owner.on_ready(conn)                 handshake finished, peer metadata checked
  owner.on_frame(more, buf, n)         a data frame (buf[0:n])
  owner.on_subscription(topic, on)     SUBSCRIBE / CANCEL command from the peer
  owner.alloc(n)                       a buffer for an n-byte body
  owner.on_oversize(n)                 a frame bigger than MAXMSGSIZE: True = skip it
Errors raise ProtocolError; the owner closes the stream and logs the reason.
"""
from .._compat import const, ticks_diff
from ..constants import SOCKET_TYPE_NAMES
from ..errors import ProtocolError
from ..security import mechanism
from . import greeting
from .frames import FLAG_COMMAND, FLAG_MORE, FrameDecoder, header

GREETING = const(0)
HANDSHAKE = const(1)
READY = const(2)
CLOSED = const(3)

# RFC 37 valid pairings by socket type number
_PEERS = (
    (0,),  # PAIR
    (2, 10),  # PUB: SUB, XSUB
    (1, 9),  # SUB: PUB, XPUB
    (4, 6),  # REQ: REP, ROUTER
    (3, 5),  # REP: REQ, DEALER
    (4, 5, 6),  # DEALER: REP, DEALER, ROUTER
    (3, 5, 6),  # ROUTER: REQ, DEALER, ROUTER
    (8,),  # PULL: PUSH
    (7,),  # PUSH: PULL
    (2, 10),  # XPUB: SUB, XSUB
    (1, 9),  # XSUB: PUB, XPUB
)


def compatible(mine, peer_name):
    for t in _PEERS[mine]:
        if SOCKET_TYPE_NAMES[t] == peer_name:
            return True
    return False


class Options:
    """Per-connection settings copied from the socket when the stream opens
    (defaults as class attributes: an instance holds only what is set)."""

    socket_type = 0
    mechanism = b"NULL"
    as_server = False
    identity = b""
    maxmsgsize = -1
    heartbeat_ivl = 0
    heartbeat_ttl = 0
    heartbeat_timeout = -1
    mech_config = None
    peer_address = b""


class Connection:
    def __init__(self, owner, opts, now):
        self.owner = owner
        self.opts = opts
        self.state = GREETING
        self.tx = bytearray(greeting.build(opts.mechanism, opts.as_server))
        self.peer_greeting = greeting.GreetingParser()
        self.decoder = FrameDecoder(self, opts.maxmsgsize)
        self.mech = None
        self.peer_minor = 0
        self.peer_type = b""
        self.peer_identity = b""
        self.peer_meta = {}
        self.last_rx = now
        self.last_tx = now
        self.next_ping = -1
        self.ping_sent_at = -1
        self.peer_ttl = 0  # ms, from the peer's PING
        self.more_in = False  # inside a multipart message being received
        self.error = None

    # -- bytes in --------------------------------------------------------
    def receive(self, data, pos, end, now):
        """Consume data[pos:end]."""
        if end > pos:
            self.last_rx = now
        if self.state == GREETING:
            pos = self.peer_greeting.feed(data, pos, end)
            if not self.peer_greeting.done:
                return
            self._on_greeting()
        if pos < end:
            self.decoder.feed(data, pos, end)

    def _on_greeting(self):
        g = self.peer_greeting
        self.peer_minor = g.minor if g.major == 3 else 1
        if g.mechanism != self.opts.mechanism:
            raise ProtocolError(
                "mechanism mismatch: peer %r, ours %r" % (g.mechanism, self.opts.mechanism)
            )
        # roles come from our own options: libzmq does not fill in as-server
        # reliably (a CURVE server announces 0), so the byte is not checked
        meta = [(b"Socket-Type", SOCKET_TYPE_NAMES[self.opts.socket_type])]
        if self.opts.identity and self.opts.socket_type in (3, 5, 6):
            meta.append((b"Identity", self.opts.identity))
        cfg = self.opts.mech_config or mechanism.MechanismConfig()
        self.mech = mechanism.create(
            self.opts.mechanism, cfg, self.opts.as_server, meta, self.opts.peer_address
        )
        self.state = HANDSHAKE
        self.mech.start()
        self._flush_mech()
        if self.mech.zap_request is not None:  # NULL with a ZAP domain asks at once
            req, self.mech.zap_request = self.mech.zap_request, None
            self.owner.on_zap_request(self, req)

    def _flush_mech(self):
        m = self.mech
        for body in m.out:
            self.tx += header(FLAG_COMMAND, len(body))
            self.tx += body
        m.out.clear()

    # -- FrameDecoder sink -------------------------------------------------
    def alloc(self, n):
        return self.owner.alloc(n)

    def on_oversize(self, flags, n):
        return self.owner.on_oversize(n)

    def on_frame(self, flags, buf, n):
        if self.state == READY:
            if flags & FLAG_COMMAND:
                if self.mech.wraps:
                    # every command after READY travels inside a box (libzmq
                    # decodes every frame): a plaintext one is an injection
                    if _command_name(buf, n) != b"MESSAGE":
                        raise ProtocolError("unencrypted command on a %s connection" % self.mech.name.decode())
                    self._on_box(buf, n)
                    return
                self._on_command(buf, n)
                return
            if self.mech.wraps:
                # libzmq carries MESSAGE commands in plain frames
                if _command_name(buf, n) != b"MESSAGE":
                    raise ProtocolError("unencrypted data frame on a %s connection" % self.mech.name.decode())
                self._on_box(buf, n)
                return
            self.owner.on_frame(flags & FLAG_MORE, buf, n)  # _on_data, inlined: per frame
            return
        if self.state != HANDSHAKE:
            raise ProtocolError("frame after close")
        if not flags & FLAG_COMMAND:
            raise ProtocolError("data frame before the handshake finished")
        try:
            self.mech.on_command(bytes(buf[:n]) if n != len(buf) else buf)
        finally:
            self._flush_mech()
        if self.mech.zap_request is not None:
            self.owner.on_zap_request(self, self.mech.zap_request)
            self.mech.zap_request = None
        if self.mech.ready:
            self._on_mech_ready()

    def _on_box(self, buf, n):
        """A MESSAGE box: a data frame, or a command (flag 0x02) such as SUBSCRIBE or PING."""
        flags, data = self.mech.decode(memoryview(buf)[:n])
        if flags & 2:
            self._on_command(data, len(data))
        else:
            self._on_data(flags & FLAG_MORE, data, len(data))

    def zap_reply(self, frames):
        """The owner hands back the ZAP handler's reply."""
        try:
            self.mech.on_zap_reply(frames)
        finally:
            self._flush_mech()
        if self.mech.ready and self.state == HANDSHAKE:
            self._on_mech_ready()

    def _on_mech_ready(self):
        meta = self.mech.peer_meta
        st = meta.get(b"socket-type", b"")
        if not compatible(self.opts.socket_type, st):
            self._send_error(b"Invalid socket type")
            raise ProtocolError(
                "peer socket type %r cannot talk to %s"
                % (st, SOCKET_TYPE_NAMES[self.opts.socket_type].decode())
            )
        ident = meta.get(b"identity", b"")
        if len(ident) > 255 or (ident and ident[0] == 0):
            raise ProtocolError("invalid peer identity")
        self.peer_type = st
        self.peer_identity = ident
        self.peer_meta = meta
        self.state = READY
        if self.opts.heartbeat_ivl > 0:
            self.next_ping = 0  # ping at the first tick
        self.owner.on_ready(self)

    def _on_data(self, more, buf, n):
        self.owner.on_frame(more, buf, n)

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
            ctx = bytes(buf[3 + ln : min(n, 3 + ln + 16)])
            self._send_command(b"\x04PONG" + ctx)
        elif name == b"PONG":
            self.ping_sent_at = -1
        elif name == b"SUBSCRIBE":
            self.owner.on_subscription(bytes(buf[1 + ln : n]), True)
        elif name == b"CANCEL":
            self.owner.on_subscription(bytes(buf[1 + ln : n]), False)
        elif name == b"ERROR":
            r = bytes(buf[2 + ln : n]) if n > 1 + ln else b""
            raise ProtocolError("peer sent ERROR: %s" % r.decode("utf-8", "replace"))
        # unknown commands are ignored, as RFC 37 allows

    # -- bytes out -------------------------------------------------------
    def _send_command(self, body):
        if self.mech is not None and self.mech.wraps and self.state == READY:
            self.send_frame(body, 2)
            return
        self.tx += header(FLAG_COMMAND, len(body))
        self.tx += body

    def _send_error(self, reason):
        try:
            self.tx += header(FLAG_COMMAND, 7 + len(reason))
            self.tx += b"\x05ERROR" + bytes((len(reason),)) + reason
        except Exception:
            pass

    def send_frame(self, data, flags):
        """Queue one data frame (flags: bit 0 MORE; 2 = command inside MESSAGE)."""
        if self.mech.wraps:
            # libzmq sends MESSAGE in a plain frame (flags 0) and expects the same
            body = self.mech.encode(flags, data)
            self.tx += header(0, len(body))
            self.tx += body
        else:
            tx = self.tx
            n = len(data)
            if n < 256:  # the header byte by byte: no bytes object per frame
                tx.append(flags & FLAG_MORE)
                tx.append(n)
            else:
                tx += header(flags & FLAG_MORE, n)
            tx += data

    def send_subscription(self, topic, on):
        """SUBSCRIBE/CANCEL in the form the peer's version expects."""
        if self.peer_minor >= 1:
            self._send_command((b"\x09SUBSCRIBE" if on else b"\x06CANCEL") + topic)
        else:
            self.send_frame((b"\x01" if on else b"\x00") + topic, 0)

    def sent(self, n, now):
        self.tx[:n] = b""  # MicroPython bytearrays have no slice deletion
        self.last_tx = now

    # -- timers ------------------------------------------------------------
    def tick(self, now):
        """Heartbeats: send PING, detect a silent peer. Raises ProtocolError on timeout."""
        if self.state != READY:
            return
        o = self.opts
        if o.heartbeat_ivl > 0:
            if self.next_ping == 0 or ticks_diff(now, self.next_ping) >= 0:
                ttl = o.heartbeat_ttl // 100 if o.heartbeat_ttl > 0 else 0
                self._send_command(b"\x04PING" + bytes(((ttl >> 8) & 0xFF, ttl & 0xFF)))
                if self.ping_sent_at < 0:
                    self.ping_sent_at = now
                self.next_ping = now + o.heartbeat_ivl
            timeout = o.heartbeat_timeout if o.heartbeat_timeout >= 0 else o.heartbeat_ivl
            if self.ping_sent_at >= 0 and ticks_diff(self.last_rx, self.ping_sent_at) >= 0:
                self.ping_sent_at = -1  # any traffic counts as liveness
            if self.ping_sent_at >= 0 and ticks_diff(now, self.ping_sent_at) > timeout:
                raise ProtocolError("heartbeat timeout: no traffic for %d ms" % timeout)
        if self.peer_ttl > 0 and ticks_diff(now, self.last_rx) > self.peer_ttl:
            raise ProtocolError("peer heartbeat TTL of %d ms expired" % self.peer_ttl)

    def next_deadline(self):
        """Earliest time tick() has work, or -1."""
        if self.state != READY:
            return -1
        d = -1
        if self.opts.heartbeat_ivl > 0:
            d = self.next_ping
            if self.ping_sent_at >= 0:
                t = self.ping_sent_at + (
                    self.opts.heartbeat_timeout if self.opts.heartbeat_timeout >= 0 else self.opts.heartbeat_ivl
                ) + 1
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
