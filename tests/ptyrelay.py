"""Two pseudo-terminals joined by a (fault-injecting) relay: a virtual serial cable.

    cable = PtyCable(seed=1).start()
    cable.a_path, cable.b_path      # the two ends, e.g. /dev/pts/5 and /dev/pts/6
    cable.faults = Faults(ber=1e-4, drop=1e-4, dup=1e-4, burst_per_s=1)
    cable.pull(5.0)                 # nothing crosses for 5 seconds
    cable.stop()

Each end is the slave side of its own pty pair, in raw mode with VMIN=0 (a
read returns at once, as a UART FIFO); the relay thread copies between the
two master sides, byte-faithfully unless `faults` says otherwise. The relay
keeps the slave descriptors open itself, so an end process may exit and a
new one open the same path (a device reset) without the master seeing EIO.
Bytes the far side does not take (the pty buffer full: nobody reading) are
dropped, as a UART overrun would.
"""
import errno
import os
import random
import select
import termios
import threading
import time
import tty

from edgezmq.cli.pty_cable import raw_pty  # the same raw, VMIN=0 pty as the demo cable


def open_tty(path, baud):
    """A real serial port, raw, non-blocking, at baud."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd)
    a = termios.tcgetattr(fd)
    speed = getattr(termios, "B%d" % baud)
    a[4] = a[5] = speed
    a[2] &= ~termios.CRTSCTS
    a[2] |= termios.CLOCAL | termios.CREAD
    termios.tcsetattr(fd, termios.TCSANOW, a)
    return fd


class Faults:
    """What the relay does to bytes in flight (probabilities per byte; bursts per second)."""

    def __init__(self, ber=0.0, drop=0.0, dup=0.0, burst_per_s=0.0, burst_max=64):
        self.ber = ber
        self.drop = drop
        self.dup = dup
        self.burst_per_s = burst_per_s
        self.burst_max = burst_max


class PtyCable:
    def __init__(self, seed=0, faults=None, bps=None, a_tty=None, a_baud=115200):
        self.rng = random.Random(seed)
        self.faults = faults
        self.bps = bps  # bytes per second each way (None: as fast as the ptys go)
        self.capture = None  # a bytearray: every byte relayed (both ways) is appended
        if a_tty:  # end a is a real serial port (a USB adapter wired to a board's UART)
            self.am, self.a_slave, self.a_path = open_tty(a_tty, a_baud), -1, None
        else:
            self.am, self.a_slave, self.a_path = raw_pty()
        self.bm, self.b_slave, self.b_path = raw_pty()
        self.pulled_until = 0.0
        self.running = False
        self.thread = None
        self.counts = {"ab": 0, "ba": 0, "flipped": 0, "dropped": 0, "duplicated": 0,
                       "bursts": 0, "pulled_bytes": 0, "overrun": 0}
        self.lock = threading.Lock()

    def start(self):
        self.running = True
        self.thread = threading.Thread(target=self._run, name="ptycable", daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.running = False
        if self.thread is not None:
            self.thread.join(2.0)
        for fd in (self.am, self.a_slave, self.bm, self.b_slave):
            if fd < 0:
                continue
            try:
                os.close(fd)
            except OSError:
                pass

    def pull(self, seconds):
        """Cable pull: nothing crosses (either way) for `seconds` from now."""
        self.pulled_until = time.monotonic() + seconds

    @property
    def pulled(self):
        return time.monotonic() < self.pulled_until

    def flush_ends(self):
        """Discard what waits unread at both ends (as a UART reset clears its FIFO)."""
        for fd in (self.a_slave, self.b_slave):
            if fd < 0:
                continue
            try:
                termios.tcflush(fd, termios.TCIOFLUSH)
            except termios.error:
                pass

    # -- the relay thread ----------------------------------------------------
    def _mangle(self, data, dt):
        f = self.faults
        if f is None:
            return data
        rng = self.rng
        out = bytearray()
        c = self.counts
        for b in data:
            if f.drop and rng.random() < f.drop:
                c["dropped"] += 1
                continue
            if f.ber:
                for bit in range(8):
                    if rng.random() < f.ber:
                        b ^= 1 << bit
                        c["flipped"] += 1
            out.append(b)
            if f.dup and rng.random() < f.dup:
                out.append(b)
                c["duplicated"] += 1
        if f.burst_per_s and rng.random() < f.burst_per_s * dt:
            pos = rng.randrange(len(out) + 1)
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, f.burst_max + 1)))
            out[pos:pos] = junk
            c["bursts"] += 1
        return bytes(out)

    def _run(self):
        pending = {self.am: bytearray(), self.bm: bytearray()}  # bytes waiting for that master
        tokens = {self.am: 0.0, self.bm: 0.0}  # bps: bytes each direction may still write now
        last = tick = time.monotonic()
        while self.running:
            if self.bps:
                t = time.monotonic()
                cap = max(64.0, self.bps * 0.01)
                for fd in tokens:
                    tokens[fd] = min(cap, tokens[fd] + self.bps * (t - tick))
                tick = t
            want_w = [fd for fd, q in pending.items() if q and (not self.bps or tokens[fd] >= 1)]
            wait = 0.02
            if self.bps and any(pending.values()):
                wait = 0.001  # tokens come back soon
            # a rate-limited line pushes back on the writer (as a UART does), it does not drop
            want_r = [src for src, dst in ((self.am, self.bm), (self.bm, self.am))
                      if not self.bps or len(pending[dst]) < 1024]
            try:
                r, w, _ = select.select(want_r, want_w, [], wait)
            except (OSError, ValueError):
                return
            now = time.monotonic()
            dt, last = now - last, now
            for src in r:
                dst = self.bm if src == self.am else self.am
                try:
                    data = os.read(src, 4096)
                except OSError as e:
                    if e.errno in (errno.EAGAIN, errno.EIO):
                        continue
                    return
                if not data:
                    continue
                with self.lock:
                    if self.pulled:
                        self.counts["pulled_bytes"] += len(data)
                        continue
                    self.counts["ab" if src == self.am else "ba"] += len(data)
                    if self.capture is not None:
                        self.capture += data
                    data = self._mangle(data, dt)
                q = pending[dst]
                if len(q) > 65536:
                    self.counts["overrun"] += len(data)
                    continue
                q += data
            for dst in w:
                q = pending[dst]
                n = len(q)
                if self.bps:
                    n = min(n, int(tokens[dst]))
                try:
                    k = os.write(dst, bytes(q[:n]))
                except OSError as e:
                    if e.errno == errno.EAGAIN:
                        continue
                    k = len(q)  # the far end is gone: drop
                del q[:k]
                if self.bps:
                    tokens[dst] -= k
