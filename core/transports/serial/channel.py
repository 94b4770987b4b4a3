"""One byte stream multiplexed on the serial link, with bounded rings.

Flow control lives here. A channel takes from the application only what its
send ring can hold, keeps sent bytes there until the peer acknowledges them
(retransmission reads them again from the ring), and lets the peer send
only what its receive ring can hold (credit). So neither side's memory
grows with a slow reader, and the link layer itself copies no data into
other buffers.

The application sees: send(data) -> n, recv_into(buf) -> n, recv(n) ->
bytes, close(), and `state` (OPEN, CLOSING, CLOSED) with `reason`.
The Link reads and writes the plain attributes below; they are internal.
"""
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


OPEN = const(1)  # both directions usable
CLOSING = const(2)  # closed locally; queued data still being sent
CLOSED = const(3)  # closed locally and done, by the peer, or by a link reset


class LinkError(Exception):
    """The link is down, the channel is closed, or no channel is free."""


class Channel:
    """A bounded, reliable, ordered byte stream over the link."""

    def __init__(self, cid, rx_size, tx_size, credit):
        self.id = cid  # local id: < 128 opened here, >= 128 opened by the peer
        self.state = OPEN
        self.reason = None  # why it closed: "local", "peer", "refused", "reset"
        # receive ring
        self.rx = bytearray(rx_size)
        self.rxv = memoryview(self.rx)
        self.rx_head = 0
        self.rx_count = 0
        self.rx_credit_out = rx_size  # credit the peer holds or has in flight
        self.credit_pending = 0  # freed by reads, not yet granted
        # send ring: [tx_head, +tx_unacked) sent, then tx_unsent not yet sent
        self.tx = bytearray(tx_size)
        self.txv = memoryview(self.tx)
        self.tx_head = 0
        self.tx_unacked = 0
        self.tx_unsent = 0
        self.tx_credit = credit  # bytes the peer lets us send
        # protocol progress
        self.open_pending = False  # our OPEN not yet sent
        self.close_wanted = False  # send CLOSE once tx_unsent is empty
        self.close_code = 0  # 0 normal, 1 refused
        self.close_sent = False
        self.close_acked = False
        self.peer_closed = False

    # -- application side -------------------------------------------------

    def send(self, data):
        """Queue bytes; -> how many were taken (0 when the ring is full)."""
        if self.state != OPEN:
            raise LinkError("channel closed")
        size = len(self.tx)
        n = len(data)
        room = size - self.tx_unacked - self.tx_unsent
        if n > room:
            n = room
        if n <= 0:
            return 0
        src = memoryview(data)
        w = (self.tx_head + self.tx_unacked + self.tx_unsent) % size
        first = size - w
        if first > n:
            first = n
        self.txv[w : w + first] = src[:first]
        if n > first:
            self.txv[0 : n - first] = src[first:n]
        self.tx_unsent += n
        return n

    def recv_into(self, buf, nbytes=0):
        """Copy received bytes into buf; -> count (0: nothing yet, or eof)."""
        n = self.rx_count
        want = len(buf)
        if 0 < nbytes < want:
            want = nbytes
        if n > want:
            n = want
        if n <= 0:
            return 0
        size = len(self.rx)
        h = self.rx_head
        dst = memoryview(buf)
        first = size - h
        if first > n:
            first = n
        dst[:first] = self.rxv[h : h + first]
        if n > first:
            dst[first:n] = self.rxv[0 : n - first]
        self.rx_head = (h + n) % size
        self.rx_count -= n
        if not (self.close_wanted or self.peer_closed):
            self.credit_pending += n
        return n

    def recv(self, max_bytes=-1):
        """-> up to max_bytes received bytes (b"" when none are waiting)."""
        n = self.rx_count
        if 0 <= max_bytes < n:
            n = max_bytes
        if n <= 0:
            return b""
        out = bytearray(n)
        self.recv_into(out)
        return bytes(out)

    def close(self):
        """Close gracefully: queued data goes first, then CLOSE."""
        if self.state == OPEN:
            self.state = CLOSING
            self.reason = "local"
            self.close_wanted = True
            self.rx_count = 0

    @property
    def readable(self):
        """Bytes waiting to be read."""
        return self.rx_count

    @property
    def writable(self):
        """Bytes send() would take now (0 unless OPEN)."""
        if self.state != OPEN:
            return 0
        return len(self.tx) - self.tx_unacked - self.tx_unsent

    @property
    def eof(self):
        """True when nothing more will ever be read."""
        return self.state != OPEN and self.rx_count == 0

    # -- link side --------------------------------------------------------

    def deliver(self, src, start, n):
        """Append n received bytes from src[start:] (credit checked by the Link)."""
        self.rx_credit_out -= n
        if self.close_wanted or self.peer_closed:
            return  # nobody will read them
        size = len(self.rx)
        w = (self.rx_head + self.rx_count) % size
        first = size - w
        if first > n:
            first = n
        sv = memoryview(src)
        self.rxv[w : w + first] = sv[start : start + first]
        if n > first:
            self.rxv[0 : n - first] = sv[start + first : start + n]
        self.rx_count += n

    def release(self, n):
        """The peer acknowledged the oldest n sent bytes."""
        self.tx_head = (self.tx_head + n) % len(self.tx)
        self.tx_unacked -= n

    def __repr__(self):
        return "<Channel %d state=%d>" % (self.id, self.state)
