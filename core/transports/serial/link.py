"""A reliable, multiplexed serial link (sans-IO): the layer under serial://.

A UART loses, flips and invents bytes. This link turns it into several
reliable ordered byte streams (channels), one per ZMTP connection, so ZMTP
and its mechanisms run over each channel unchanged. Line noise costs
retransmissions, not data; a link reset (peer rebooted, line dead for
`timeout_ms`, protocol error) closes every channel so the ZMTP connections
on top re-greet, as TCP peers reconnect. Wire format: docs/serial-link.md.

Sans-IO: the Link never touches a port, a clock or a thread. The owner:

    link = Link(now_ms, window=4, mtu=256)
    link.receive_data(bytes_from_uart, now_ms)  # or (buf, now_ms, nbytes)
    view = link.pending_output(now_ms)   # memoryview, b"" when idle
    n = uart.write(view); link.output_sent(n)   # or data_to_send(now, max)
    link.tick(now_ms)                    # at link.next_deadline() (abs. ms)
    ev = link.poll_event()               # (EV_LINK_UP, None), (EV_LINK_DOWN,
                                         #  reason), (EV_CHANNEL_OPENED, ch),
                                         #  (EV_CHANNEL_CLOSED, ch) or None
    ch = link.open_channel()             # once the link is up
    ch.send(data) -> n; ch.recv_into(buf) -> n; ch.close()

now_ms is a non-decreasing integer millisecond clock. After every
receive_data() and tick() the owner asks pending_output() again (a reply,
an acknowledgement or a HELLO may be due). It should pull output only as
fast as the line takes it: the retransmission timer starts when the last
byte of a frame has been handed over.
Errors: LinkError (link down, channel closed, no free channel).
"""
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from . import framing as linkframe
from .channel import CLOSED, CLOSING, OPEN, Channel, LinkError

VERSION = const(1)

# frame types; 0x10 and up are sequenced (numbered, acknowledged, retransmitted)
T_HELLO = const(0x01)
T_ACK = const(0x02)
T_REJ = const(0x03)
T_DATA = const(0x10)
T_OPEN = const(0x11)
T_CLOSE = const(0x12)
T_CREDIT = const(0x13)

HELLO_LEN = const(18)
HELLO_ESTABLISHED = const(0x01)
CLOSE_NORMAL = const(0)
CLOSE_REFUSED = const(1)

EV_LINK_UP = const(1)
EV_LINK_DOWN = const(2)
EV_CHANNEL_OPENED = const(3)
EV_CHANNEL_CLOSED = const(4)

_MAX_EVENTS = const(64)
_MIN_MTU = const(16)
_HELLO_MAX = const(32)  # frame buffers hold max(mtu, this) payload bytes

__all__ = ("Link", "Channel", "LinkError", "OPEN", "CLOSING", "CLOSED")

_STATS = (
    "frames_tx", "frames_rx", "bytes_tx", "bytes_rx", "data_tx", "data_rx",
    "retransmits", "timeouts", "rej_tx", "rej_rx", "crc_errors", "bad_frames",
    "aborts_rx", "out_of_seq", "duplicates", "ignored", "protocol_errors",
    "resets", "link_ups", "events_dropped",
)


def _random32():
    try:
        import random

        return random.getrandbits(32)
    except (ImportError, AttributeError):
        return 0


class Link:
    """One end of a serial link: framing, ARQ, channels, keepalive, reset."""

    def __init__(self, now_ms, window=4, mtu=256, max_channels=4, rx_buffer=None,
                 tx_buffer=None, keepalive_ms=500, timeout_ms=3000, hello_ms=250,
                 rto_ms=500, rto_min_ms=40, rto_max_ms=2000, max_retries=32,
                 adaptive=True, baud=None, random32=None):
        if not 1 <= window <= 127:
            raise ValueError("window must be 1..127")
        if not _MIN_MTU <= mtu <= 65535:
            raise ValueError("mtu must be 16..65535")
        self.window = window
        self.mtu = mtu
        self.max_channels = max_channels
        self.rx_buffer = rx_buffer or 4 * mtu
        self.tx_buffer = tx_buffer or 4 * mtu
        self.keepalive_ms = keepalive_ms
        self.timeout_ms = timeout_ms
        self.hello_ms = hello_ms
        if baud:  # a frame can wait behind one full frame each way
            rto_min_ms += 2 * ((mtu + 12) * 10000 // baud + 1)
        self.rto_min = rto_min_ms
        self.rto_max = rto_max_ms if rto_max_ms > rto_min_ms else rto_min_ms
        self.rto_initial = rto_ms if rto_ms > rto_min_ms else rto_min_ms
        self.max_retries = max_retries
        self.adaptive = adaptive
        self._rand = random32 or _random32
        room = 4 + (mtu if mtu > _HELLO_MAX else _HELLO_MAX)
        self._enc = linkframe.FrameEncoder(room)
        self._dec = linkframe.Deframer(room)
        self._hdr = bytearray(4)
        self._pl = bytearray(HELLO_LEN)
        rsize = 1
        while rsize < window:
            rsize <<= 1
        self._rmask = rsize - 1
        self._r_type = bytearray(rsize)
        self._r_retx = bytearray(rsize)
        self._r_ch = [None] * rsize
        self._r_len = [0] * rsize
        self._r_off = [0] * rsize
        self._r_time = [0] * rsize
        self.channels = {}  # local id -> Channel
        self._chlist = []
        self._rr = 0
        self._events = []
        self.stats = {}
        for k in _STATS:
            self.stats[k] = 0
        self._now = now_ms
        self.session_id = 0
        self.peer_session = 0
        self.established = False
        self._cur_seq = -1
        self._clear(now_ms)

    # -- owner API ------------------------------------------------------------

    def receive_data(self, data, now_ms, end=None):
        """Feed bytes read from the line: data[:end] (bytes or bytearray).

        `end` lets a device feed a preallocated readinto() buffer as is.
        """
        self.tick(now_ms)
        if isinstance(data, memoryview):
            data = bytes(data)
        if end is None:
            end = len(data)
        self.stats["bytes_rx"] += end
        dec = self._dec
        pos = 0
        while pos < end:
            pos = dec.feed(data, pos, end)
            r = dec.result
            if r > 0:
                self._on_frame(r, now_ms)
            elif r < 0:
                self._on_bad(r)

    def pending_output(self, now_ms):
        """-> memoryview of line bytes ready to write (empty when idle).

        Valid until the next call into the Link; report the bytes written
        with output_sent(n).
        """
        self.tick(now_ms)
        enc = self._enc
        if enc.idle() and not self._build(now_ms):
            return enc.mv[0:0]
        return enc.pending()

    def output_sent(self, n):
        """The owner wrote n bytes of pending_output() to the line."""
        if n <= 0:
            return
        self.stats["bytes_tx"] += n
        if self._enc.consume(n) and self._cur_seq >= 0:
            i = self._cur_seq & self._rmask
            self._r_time[i] = self._now
            self._cur_seq = -1
            if self._rto_at is None:
                self._rto_at = self._now + self._rto

    def data_to_send(self, now_ms, max_bytes=None):
        """-> up to max_bytes (all ready frames if None) of line bytes."""
        out = bytearray()
        while max_bytes is None or len(out) < max_bytes:
            v = self.pending_output(now_ms)
            n = len(v)
            if not n:
                break
            if max_bytes is not None and n > max_bytes - len(out):
                n = max_bytes - len(out)
            out += v[:n]
            self.output_sent(n)
        return bytes(out)

    def tick(self, now_ms):
        """Run the timers: link-dead timeout, retransmission, hello."""
        self._now = now_ms
        if not self.established:
            return
        if now_ms - self._last_rx >= self.timeout_ms:
            self.reset("timeout")
            return
        if self._rto_at is not None and now_ms >= self._rto_at:
            self._on_rto(now_ms)

    def next_deadline(self):
        """-> absolute ms at which tick() (or pending_output) has work."""
        if not self._enc.idle() or self._hello_reply or self._ack_pending or self._rej_pending:
            return self._now
        if not self.established:
            return self._hello_at
        d = self._last_rx + self.timeout_ms
        k = self._last_tx + self.keepalive_ms
        if k < d:
            d = k
        if self._rto_at is not None and self._rto_at < d:
            d = self._rto_at
        return d

    def poll_event(self):
        """-> the next (kind, value) event, or None."""
        if self._events:
            return self._events.pop(0)
        return None

    def open_channel(self):
        """Open a channel to the peer; -> Channel (usable at once)."""
        if not self.established:
            raise LinkError("link down")
        mine = 0
        for ch in self._chlist:
            if ch.id < 128:
                mine += 1
        if mine >= self._peer_max_ch or mine >= 128:
            raise LinkError("no free channel")
        cid = 0
        while cid in self.channels:
            cid += 1
        ch = Channel(cid, self.rx_buffer, self.tx_buffer, self._peer_chan_buf)
        ch.open_pending = True
        self._add(ch)
        return ch

    def reset(self, reason="local"):
        """Drop the link: close every channel, start a new session."""
        was_up = self.established
        if was_up:
            self.stats["resets"] += 1
        for ch in self._chlist:
            if ch.state == OPEN:
                ch.reason = "reset"
                self._event(EV_CHANNEL_CLOSED, ch)
            ch.state = CLOSED
            if ch.reason is None:
                ch.reason = "reset"
        self.channels = {}
        self._chlist = []
        self._enc.abort()
        self.peer_session = 0
        self._clear(self._now)
        if was_up:
            self._event(EV_LINK_DOWN, reason)

    @property
    def is_up(self):
        return self.established

    # -- state ------------------------------------------------------------------

    def _clear(self, now):
        s = self._rand() & 0xFFFFFFFF
        while s == 0 or s == self.session_id:
            s = (s * 1103515245 + 12345 + now) & 0xFFFFFFFF
        self.session_id = s
        self.established = False
        self._hello_at = now
        self._hello_reply = False
        self._arq_init(now)

    def _arq_init(self, now):
        self._base = 0  # oldest unacknowledged sequence number
        self._next = 0  # next new sequence number
        self._vs = 0  # next sequence number to transmit (< _next: resending)
        self._vr = 0  # next sequence number expected from the peer
        self._cur_seq = -1
        self._ack_pending = False
        self._rej_pending = False
        self._rej_sent = False
        self._rej_seq = 0
        self._last_rx = now
        self._last_tx = now
        self._rto = self.rto_initial
        self._srtt8 = 0
        self._rttvar4 = 0
        self._rto_at = None
        self._retries = 0
        for i in range(len(self._r_ch)):
            self._r_ch[i] = None
        self._tx_mtu = self.mtu
        self._frame_size = self.mtu
        self._win = self.window
        self._peer_chan_buf = 0
        self._peer_max_ch = 0

    def _event(self, kind, value):
        ev = self._events
        if len(ev) >= _MAX_EVENTS:
            ev.pop(0)
            self.stats["events_dropped"] += 1
        ev.append((kind, value))

    def _add(self, ch):
        self.channels[ch.id] = ch
        self._chlist.append(ch)

    def _remove(self, ch):
        if self.channels.get(ch.id) is ch:
            del self.channels[ch.id]
            self._chlist.remove(ch)
        ch.state = CLOSED

    def _protocol_error(self, why):
        self.stats["protocol_errors"] += 1
        self.reset("protocol error: " + why)

    # -- transmit -----------------------------------------------------------------

    def _build(self, now):
        """Put the next frame into the encoder; -> False if nothing to send."""
        if not self.established:
            if self._hello_reply or now >= self._hello_at:
                self._send_hello(now)
                return True
            return False
        if self._hello_reply:
            self._send_hello(now)
            return True
        if self._rej_pending:
            self._rej_pending = False
            self._rej_sent = True
            self.stats["rej_tx"] += 1
            self._send_unnumbered(T_REJ, now)
            return True
        if self._vs != self._next:
            seq = self._vs
            i = seq & self._rmask
            self._r_retx[i] = 1
            self.stats["retransmits"] += 1
            self._vs = (seq + 1) & 0xFF
            self._encode_numbered(seq, now)
            return True
        if ((self._next - self._base) & 0xFF) < self._win and self._new_numbered(now):
            return True
        if self._ack_pending or now - self._last_tx >= self.keepalive_ms:
            self._send_unnumbered(T_ACK, now)
            return True
        return False

    def _new_numbered(self, now):
        """Pick the next sequenced frame: credit, open, close, then data."""
        chs = self._chlist
        if not chs:
            return False
        thr = self._tx_mtu
        for ch in chs:
            c = ch.credit_pending
            if c and not (ch.close_wanted or ch.peer_closed):
                half = len(ch.rx) >> 1
                t = thr if thr < half else half
                if c >= t or ch.rx_credit_out < t:
                    ch.credit_pending = 0
                    ch.rx_credit_out += c
                    return self._numbered(T_CREDIT, ch, c, 0, now)
        for ch in chs:
            if ch.open_pending:
                ch.open_pending = False
                return self._numbered(T_OPEN, ch, 0, 0, now)
        for ch in chs:
            if ch.close_wanted and not ch.close_sent and not ch.tx_unsent:
                ch.close_sent = True
                return self._numbered(T_CLOSE, ch, ch.close_code, 0, now)
        n = len(chs)
        for k in range(n):
            ch = chs[(self._rr + k) % n]
            if ch.tx_unsent and ch.tx_credit > 0 and not ch.close_sent:
                self._rr = (self._rr + k + 1) % n
                size = self._frame_size
                if ch.tx_unsent < size:
                    size = ch.tx_unsent
                if ch.tx_credit < size:
                    size = ch.tx_credit
                off = (ch.tx_head + ch.tx_unacked) % len(ch.tx)
                ch.tx_unacked += size
                ch.tx_unsent -= size
                ch.tx_credit -= size
                self.stats["data_tx"] += size
                return self._numbered(T_DATA, ch, size, off, now)
        return False

    def _numbered(self, ftype, ch, length, off, now):
        seq = self._next
        i = seq & self._rmask
        self._r_type[i] = ftype
        self._r_retx[i] = 0
        self._r_ch[i] = ch
        self._r_len[i] = length
        self._r_off[i] = off
        self._r_time[i] = -1
        self._next = (seq + 1) & 0xFF
        self._vs = self._next
        self._encode_numbered(seq, now)
        return True

    def _encode_numbered(self, seq, now):
        """Encode the recorded frame `seq` (first time or again, same content)."""
        i = seq & self._rmask
        ftype = self._r_type[i]
        ch = self._r_ch[i]
        n = self._r_len[i]
        h = self._hdr
        h[0] = ftype
        h[1] = ch.id
        h[2] = seq
        h[3] = self._vr
        enc = self._enc
        enc.begin()
        enc.add(h, 0, 4)
        if ftype == T_DATA:
            off = self._r_off[i]
            size = len(ch.tx)
            first = size - off
            if first > n:
                first = n
            enc.add(ch.tx, off, off + first)
            if n > first:
                enc.add(ch.tx, 0, n - first)
        elif ftype == T_CLOSE:
            self._pl[0] = n
            enc.add(self._pl, 0, 1)
        elif ftype == T_CREDIT:
            p = self._pl
            p[0] = (n >> 24) & 0xFF
            p[1] = (n >> 16) & 0xFF
            p[2] = (n >> 8) & 0xFF
            p[3] = n & 0xFF
            enc.add(p, 0, 4)
        enc.finish()
        self._cur_seq = seq
        self._ack_pending = False
        self._last_tx = now
        self.stats["frames_tx"] += 1

    def _send_unnumbered(self, ftype, now):
        h = self._hdr
        h[0] = ftype
        h[1] = 0
        h[2] = self._vs
        h[3] = self._vr
        enc = self._enc
        enc.begin()
        enc.add(h, 0, 4)
        enc.finish()
        self._cur_seq = -1
        self._ack_pending = False
        self._last_tx = now
        self.stats["frames_tx"] += 1

    def _send_hello(self, now):
        h = self._hdr
        h[0] = T_HELLO
        h[1] = h[2] = h[3] = 0
        p = self._pl
        p[0] = VERSION
        p[1] = HELLO_ESTABLISHED if self.established else 0
        _put32(p, 2, self.session_id)
        _put32(p, 6, self.peer_session)
        p[10] = self.mtu >> 8
        p[11] = self.mtu & 0xFF
        p[12] = self.window
        p[13] = self.max_channels if self.max_channels < 128 else 128
        _put32(p, 14, self.rx_buffer)
        enc = self._enc
        enc.begin()
        enc.add(h, 0, 4)
        enc.add(p, 0, HELLO_LEN)
        enc.finish()
        self._cur_seq = -1
        self._hello_reply = False
        self._hello_at = now + self.hello_ms
        self._last_tx = now
        self.stats["frames_tx"] += 1

    # -- receive ------------------------------------------------------------------

    def _on_bad(self, code):
        st = self.stats
        if code == linkframe.ABORTED:
            # the peer cut a frame short: it is going back (our REJ, its
            # timer); if what it resends is lost again, REJ again at once
            st["aborts_rx"] += 1
            self._rej_sent = False
            return
        if code == linkframe.CRC_ERROR:
            st["crc_errors"] += 1
        else:
            st["bad_frames"] += 1
        if self.established and not self._rej_sent:
            # something was lost; if it was a numbered frame, ask for it now
            self._rej_pending = True
            self._rej_seq = self._vr

    def _on_frame(self, n, now):
        b = self._dec.buf
        ftype = b[0]
        self.stats["frames_rx"] += 1
        if ftype == T_HELLO:
            self._on_hello(b, n, now)
            return
        if not self.established:
            self.stats["ignored"] += 1
            return
        self._last_rx = now
        nr = b[3]
        if not self._on_ack(nr, now):
            self._protocol_error("ack out of range")
            return
        seq = b[2]
        if ftype < T_DATA:
            if ftype == T_REJ:
                self.stats["rej_rx"] += 1
                self._go_back(nr)
            if ftype == T_ACK or ftype == T_REJ:
                d = (seq - self._vr) & 0xFF
                if 0 < d < 128:  # the peer sent frames we never got
                    self._want_rej((seq - 1) & 0xFF)
            return
        d = (seq - self._vr) & 0xFF
        if d == 0:
            self._vr = (seq + 1) & 0xFF
            self._ack_pending = True
            self._rej_sent = False
            self._rej_pending = False
            self._accept(ftype, b[1], n, b)
        elif d < 128:
            self.stats["out_of_seq"] += 1
            self._want_rej(seq)
        else:
            self.stats["duplicates"] += 1
            self._ack_pending = True

    def _want_rej(self, seq):
        if not self._rej_sent:
            self._rej_pending = True
        else:
            vr = self._vr
            if ((seq - vr) & 0xFF) <= ((self._rej_seq - vr) & 0xFF):
                # the peer restarted from our REJ and lost a frame again
                self._rej_pending = True
        self._rej_seq = seq

    def _on_ack(self, nr, now):
        """Peer acknowledged every frame before nr; -> False if impossible."""
        base = self._base
        d = (nr - base) & 0xFF
        if d > ((self._next - base) & 0xFF):
            return False
        if d == 0:
            return True
        mask = self._rmask
        last = (nr - 1) & mask
        if not self._r_retx[last] and self._r_time[last] >= 0:
            self._rtt_sample(now - self._r_time[last])
        grow = self.adaptive
        for k in range(d):
            i = (base + k) & mask
            ch = self._r_ch[i]
            self._r_ch[i] = None
            t = self._r_type[i]
            if t == T_DATA:
                ch.release(self._r_len[i])
                if grow and not self._r_retx[i] and self._frame_size < self._tx_mtu:
                    self._frame_size = min(self._tx_mtu, self._frame_size + 16)
            elif t == T_CLOSE:
                ch.close_acked = True
                if ch.peer_closed:
                    self._remove(ch)
        if ((self._vs - base) & 0xFF) < d:
            self._vs = nr
        cur = self._cur_seq
        if cur >= 0 and ((cur - base) & 0xFF) < d:
            self._enc.abort()  # the frame on the wire is already acknowledged
            self._cur_seq = -1
        self._base = nr
        self._retries = 0
        # restart the timer if a frame after nr is completely on the wire
        done = (self._vs - nr) & 0xFF
        if self._cur_seq >= 0:
            done -= 1
        self._rto_at = now + self._rto if done > 0 else None
        return True

    def _rtt_sample(self, rtt):
        if rtt < 0:
            rtt = 0
        if self._srtt8 == 0:
            self._srtt8 = (rtt << 3) or 1
            self._rttvar4 = rtt << 1
        else:
            err = rtt - (self._srtt8 >> 3)
            self._srtt8 += err
            if self._srtt8 <= 0:
                self._srtt8 = 1
            if err < 0:
                err = -err
            self._rttvar4 += err - (self._rttvar4 >> 2)
        rto = (self._srtt8 >> 3) + self._rttvar4
        if rto < self.rto_min:
            rto = self.rto_min
        if rto > self.rto_max:
            rto = self.rto_max
        self._rto = rto

    def _go_back(self, nr):
        """Resend from nr (a REJ or a timeout); a frame half-sent is aborted."""
        if self._vs == nr or ((self._vs - self._base) & 0xFF) < ((nr - self._base) & 0xFF):
            return
        cur = self._cur_seq
        if cur >= 0:
            self._enc.abort()
            self._cur_seq = -1
        mask = self._rmask
        k = nr
        while k != self._next:
            if self._r_type[k & mask] == T_DATA:
                if self.adaptive:
                    fs = self._frame_size * 3 // 4
                    low = 64 if self._tx_mtu > 64 else self._tx_mtu
                    self._frame_size = fs if fs > low else low
                break
            k = (k + 1) & 0xFF
        self._vs = nr
        self._rto_at = None

    def _on_rto(self, now):
        self.stats["timeouts"] += 1
        self._retries += 1
        if self._retries > self.max_retries:
            self.reset("no acknowledgement")
            return
        rto = self._rto * 2
        self._rto = rto if rto < self.rto_max else self.rto_max
        self._go_back(self._base)
        self._rto_at = None

    def _accept(self, ftype, wch, n, b):
        """Act on the next in-order numbered frame (body length n)."""
        ch = self.channels.get(wch ^ 0x80)
        plen = n - 4
        if ftype == T_DATA:
            if ch is None:
                self._protocol_error("data on unknown channel")
            elif plen > ch.rx_credit_out:
                self._protocol_error("data beyond credit")
            elif plen:
                self.stats["data_rx"] += plen
                ch.deliver(b, 4, plen)
        elif ftype == T_OPEN:
            if wch & 0x80 or ch is not None:
                self._protocol_error("bad open")
                return
            peer = 0
            for c in self._chlist:
                if c.id >= 128:
                    peer += 1
            if peer >= self.max_channels:
                ch = Channel(wch ^ 0x80, 1, 1, 0)
                ch.rx_credit_out = self.rx_buffer  # what the peer may send
                ch.state = CLOSED
                ch.reason = "refused"
                ch.close_wanted = True
                ch.close_code = CLOSE_REFUSED
                self._add(ch)
                return
            ch = Channel(wch ^ 0x80, self.rx_buffer, self.tx_buffer, self._peer_chan_buf)
            self._add(ch)
            self._event(EV_CHANNEL_OPENED, ch)
        elif ftype == T_CLOSE:
            if ch is None:
                self._protocol_error("close on unknown channel")
                return
            ch.peer_closed = True
            ch.tx_unsent = 0  # nobody will read it
            if not ch.close_wanted:
                ch.close_wanted = True
                ch.state = CLOSED
                ch.reason = "refused" if plen and b[4] == CLOSE_REFUSED else "peer"
                self._event(EV_CHANNEL_CLOSED, ch)
            if ch.close_acked:
                self._remove(ch)
        elif ftype == T_CREDIT:
            if ch is None or plen != 4:
                self._protocol_error("bad credit")
                return
            ch.tx_credit += (b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7]
        else:
            self._protocol_error("unknown frame type")

    def _on_hello(self, b, n, now):
        if n - 4 < HELLO_LEN or b[4] != VERSION:
            self.stats["ignored"] += 1
            return
        s = _get32(b, 6)
        e = _get32(b, 10)
        peer_est = b[5] & HELLO_ESTABLISHED
        if self.established:
            if s == self.peer_session and e == self.session_id:
                self._last_rx = now
                if not peer_est:
                    self._hello_reply = True
                return
            self.reset("peer restarted")
        if s == 0:
            return
        self.peer_session = s
        if e == self.session_id:
            mru = (b[14] << 8) | b[15]
            win = b[16]
            cbuf = _get32(b, 18)
            if mru < _MIN_MTU or not 1 <= win <= 127 or cbuf < 1:
                self.stats["protocol_errors"] += 1
                return
            self._establish(mru, win, b[17], cbuf, now)
            if not peer_est:
                self._hello_reply = True
        else:
            self._hello_reply = True

    def _establish(self, mru, win, maxch, cbuf, now):
        self._arq_init(now)
        self._tx_mtu = mru if mru < self.mtu else self.mtu
        self._frame_size = self._tx_mtu
        self._win = win if win < self.window else self.window
        self._peer_max_ch = maxch
        self._peer_chan_buf = cbuf
        self.established = True
        self.stats["link_ups"] += 1
        self._event(EV_LINK_UP, None)


def _put32(b, i, v):
    b[i] = (v >> 24) & 0xFF
    b[i + 1] = (v >> 16) & 0xFF
    b[i + 2] = (v >> 8) & 0xFF
    b[i + 3] = v & 0xFF


def _get32(b, i):
    return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]
