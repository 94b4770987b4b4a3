"""A deterministic serial line simulator for testing and measuring the Link.

Two Link endpoints exchange bytes through two one-way Wires on a virtual
millisecond clock. Each Wire carries at most baud/10 bytes per second (8N1),
delivers one millisecond later, and can inject faults from a seeded RNG:
bit errors, dropped and duplicated bytes, bursts of garbage, and cuts (time
spans in which nothing passes). Each Endpoint runs a small application that
streams pseudorandom bytes on its channels and records what it sent and
what it received, so tests can check exactly-once, in-order, uncorrupted
delivery.
"""
import math
import os
import random
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import edgezmq  # noqa: F401  (installed, or set up by a conftest)
except ImportError:  # map package edgezmq to core/ without installing
    _pkg = types.ModuleType("edgezmq")
    _pkg.__path__ = [os.path.join(ROOT, "core")]
    sys.modules["edgezmq"] = _pkg

from edgezmq.transports.serial import channel as linkchannel  # noqa: E402
from edgezmq.transports.serial import framing as linkframe  # noqa: E402
from edgezmq.transports.serial import link as seriallink  # noqa: E402

Link = seriallink.Link
LinkError = linkchannel.LinkError
__all__ = ["Link", "LinkError", "linkframe", "linkchannel", "seriallink", "Faults", "Wire",
           "Endpoint", "Sim"]


class Faults:
    """What a Wire does to the bytes it carries (all rates per byte/bit)."""

    def __init__(self, ber=0.0, drop=0.0, dup=0.0, garbage_per_s=0.0, garbage_max=32, cuts=()):
        self.ber = ber
        self.drop = drop
        self.dup = dup
        self.garbage_per_s = garbage_per_s
        self.garbage_max = garbage_max
        self.cuts = tuple(cuts)  # (start_ms, end_ms) spans in which nothing passes


def _gap(rng, p):
    """Events until the next one for a per-trial probability p (geometric)."""
    if p <= 0:
        return 1 << 62
    u = rng.random() or 1e-300
    return int(math.log(u) / math.log1p(-p))


class Wire:
    """One direction of the line: rate limit, latency, faults."""

    def __init__(self, baud, faults=None, seed=0, latency_ms=1):
        self.baud = baud
        self.f = faults or Faults()
        self.rng = random.Random(seed)
        self.latency = latency_ms
        self._bits = 0
        self._queue = []  # (arrival_ms, bytes)
        self._to_flip = _gap(self.rng, self.f.ber)
        self._to_drop = _gap(self.rng, self.f.drop)
        self._to_dup = _gap(self.rng, self.f.dup)
        self.flipped = self.dropped = self.duplicated = self.garbage = self.cut_bytes = 0

    def budget(self):
        """Bytes the UART can take in this millisecond."""
        self._bits += self.baud
        return self._bits // 10000

    def sent(self, n):
        """n bytes went out this millisecond; idle line time is not banked."""
        self._bits -= n * 10000
        if self._bits >= 10000:
            self._bits %= 10000

    def cut_at(self, now):
        for a, b in self.f.cuts:
            if a <= now < b:
                return True
        return False

    def push(self, data, now):
        f = self.f
        rng = self.rng
        if self.cut_at(now):
            self.cut_bytes += len(data)
            data = b""
        if data and (f.ber or f.drop or f.dup):
            data = self._corrupt(bytearray(data))
        if f.garbage_per_s and rng.random() < f.garbage_per_s / 1000.0:
            g = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, f.garbage_max)))
            self.garbage += len(g)
            data = bytes(data) + g if rng.random() < 0.5 else g + bytes(data)
        if data:
            self._queue.append((now + self.latency, bytes(data)))

    def _corrupt(self, buf):
        f = self.f
        if f.ber:
            nbits = len(buf) * 8
            pos = 0
            while True:
                pos += self._to_flip
                if pos >= nbits:
                    self._to_flip = pos - nbits
                    break
                buf[pos >> 3] ^= 1 << (pos & 7)
                self.flipped += 1
                pos += 1
                self._to_flip = _gap(self.rng, f.ber)
        if f.drop or f.dup:
            out = bytearray()
            for b in buf:
                if self._to_drop == 0:
                    self._to_drop = _gap(self.rng, f.drop)
                    self.dropped += 1
                    continue
                self._to_drop -= 1
                out.append(b)
                if self._to_dup == 0:
                    self._to_dup = _gap(self.rng, f.dup)
                    self.duplicated += 1
                    out.append(b)
                else:
                    self._to_dup -= 1
            buf = out
        return buf

    def deliver(self, now):
        q = self._queue
        if not q or q[0][0] > now:
            return b""
        parts = []
        while q and q[0][0] <= now:
            parts.append(q.pop(0)[1])
        return b"".join(parts)


class Endpoint:
    """A Link and a test application on one side of the simulated line.

    streams: how many channels this side keeps open (the application
    reopens them after a reset); it writes `total` bytes on each of them and
    `reply` bytes on each channel the peer opened; chunk: the size of one
    send(); reading: whether it reads what arrives.
    """

    def __init__(self, link, name, seed=0, streams=0, total=0, reply=0, chunk=1000,
                 reading=True):
        self.link = link
        self.name = name
        self.rng = random.Random(seed)
        self.streams = streams
        self.total = total
        self.reply = reply
        self.chunk = chunk
        self.reading = reading
        self.peer = None
        self.opened = {}  # local id -> last Channel opened with it
        self.log = []  # every Channel this side opened or accepted
        self.sent = {}  # Channel -> bytearray of bytes send() took
        self.recvd = {}  # Channel -> bytearray of bytes received
        self.mate = {}  # Channel -> the peer's Channel object
        self._pending = {}  # Channel -> bytes not yet taken by send()
        self.events = []
        self.corrupt = []  # (channel, offset) where received bytes did not match
        self.reset_channels = set()
        self._buf = bytearray(4096)

    def mine(self):
        return [c for c in self.log if c.id < 128 and c.state == linkchannel.OPEN]

    def step(self, now):
        link = self.link
        while True:
            ev = link.poll_event()
            if ev is None:
                break
            self.events.append((now, ev[0], ev[1] if ev[0] == seriallink.EV_LINK_DOWN else None))
            kind, val = ev
            if kind == seriallink.EV_CHANNEL_OPENED:
                self._track(val)
                mate = self.peer.opened.get(val.id ^ 0x80)
                if mate is not None:
                    self.mate[val] = mate
                    self.peer.mate[mate] = val
            elif kind == seriallink.EV_CHANNEL_CLOSED and val.reason == "reset":
                self.reset_channels.add(val)
            elif kind == seriallink.EV_LINK_DOWN:
                for c in self.log:
                    if c.reason == "reset":
                        self.reset_channels.add(c)
        if link.established:
            while len(self.mine()) < self.streams:
                ch = link.open_channel()
                self.opened[ch.id] = ch
                self._track(ch)
        for ch in self.log:
            if ch.state != linkchannel.OPEN:
                continue
            self._write(ch, self.total if ch.id < 128 else self.reply)
        if self.reading:
            for ch in self.log:
                self.read(ch)

    def _track(self, ch):
        self.log.append(ch)
        self.sent[ch] = bytearray()
        self.recvd[ch] = bytearray()

    def _write(self, ch, total):
        sent = self.sent[ch]
        while len(sent) < total:
            data = self._pending.get(ch)
            if not data:
                n = min(self.chunk, total - len(sent))
                data = self.rng.randbytes(n)
            k = ch.send(data)
            sent += data[:k]
            self._pending[ch] = data[k:]
            if k < len(data):
                break

    def read(self, ch):
        buf = self._buf
        got = self.recvd[ch]
        while True:
            n = ch.recv_into(buf)
            if not n:
                return
            mate = self.mate.get(ch)
            ref = self.peer.sent.get(mate) if mate is not None else None
            off = len(got)
            got += buf[:n]
            if ref is None or ref[off : off + n] != buf[:n]:
                self.corrupt.append((ch, off))


class Sim:
    """Two endpoints, two wires, one virtual clock (1 ms steps)."""

    def __init__(self, a, b, baud=115200, faults_ab=None, faults_ba=None, seed=1, latency_ms=1):
        self.now = 0
        self.a = a
        self.b = b
        a.peer = b
        b.peer = a
        self.ab = Wire(baud, faults_ab, seed * 2 + 1, latency_ms)
        self.ba = Wire(baud, faults_ba, seed * 2 + 2, latency_ms)

    def replace_b(self, b):
        """Swap in a new B endpoint (a rebooted device)."""
        self.b = b
        b.peer = self.a
        self.a.peer = b

    def step(self):
        self.now += 1
        now = self.now
        for ep, wire in ((self.a, self.ab), (self.b, self.ba)):
            ep.step(now)
            budget = wire.budget()
            out = ep.link.data_to_send(now, budget) if budget else b""
            wire.sent(len(out))
            wire.push(out, now)
        for ep, wire in ((self.b, self.ab), (self.a, self.ba)):
            data = wire.deliver(now)
            if data:
                ep.link.receive_data(data, now)
            else:
                ep.link.tick(now)

    def run(self, ms, until=None):
        end = self.now + ms
        while self.now < end:
            self.step()
            if until is not None and until():
                return True
        return until is None

    def both_up(self):
        return self.a.link.established and self.b.link.established

    def settled(self):
        """True when every open channel sent its total and the peer got it all."""
        if not self.both_up():
            return False
        for ep in (self.a, self.b):
            if len([c for c in ep.mine() if c in ep.mate]) < ep.streams:
                return False
            for ch in ep.log:
                if ch.state != linkchannel.OPEN:
                    continue
                mate = ep.mate.get(ch)
                if mate is None:
                    return False
                want = ep.total if ch.id < 128 else ep.reply
                if len(ep.sent[ch]) < want or len(ep.peer.recvd[mate]) < len(ep.sent[ch]):
                    return False
        return True

    def check(self):
        """Assert: nothing corrupt, and every channel not cut by a reset complete.

        -> (complete channels, reset channels) counted over both sides.
        """
        complete = cut = 0
        for ep in (self.a, self.b):
            assert not ep.corrupt, "%s received corrupt bytes at %r" % (ep.name, ep.corrupt[:3])
            for ch in ep.log:
                mate = ep.mate.get(ch)
                if mate is None:
                    continue
                got = ep.peer.recvd.get(mate)
                if got is None:  # the peer endpoint was replaced (rebooted)
                    assert ch in ep.reset_channels
                    cut += 1
                    continue
                sent = ep.sent[ch]
                assert sent[: len(got)] == got
                if ch in ep.reset_channels or mate in ep.peer.reset_channels:
                    cut += 1
                else:
                    assert got == sent, "%s channel %d: %d of %d bytes" % (
                        ep.name, ch.id, len(got), len(sent))
                    complete += 1
        return complete, cut
