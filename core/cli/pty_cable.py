"""A virtual serial cable for `edgezmq demo`: two pseudo-terminals joined by a relay.

The device (the MicroPython unix port) opens one end as its UART and
`edgezmq gateway` opens the other, each by its /dev/pts path, as they would
open a real serial port. A relay thread copies bytes between the two pty
masters and, when asked, flips one bit in the next few chunks it carries,
so the link statistics show what line noise costs (CRC errors, retries).
The hw-tests use a fuller, fault-injecting version (tests/ptyrelay.py).
With `device_tty` the device end is an existing tty instead (the pty qemu
made for the emulated board's UART), and the relay keeps the last bytes the
device sent (`device_tail`): what it says after its program ends.
"""
from __future__ import annotations

import errno
import os  # port-ok: CPython-only front end
import select
import termios
import threading  # port-ok: CPython-only front end
import tty


def raw_pty() -> tuple[int, int, str]:
    """-> (master fd, slave fd, slave path); the slave raw, VMIN=0 as a UART FIFO."""
    master, slave = os.openpty()
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[6][termios.VMIN] = 0
    attrs[6][termios.VTIME] = 0
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    os.set_blocking(master, False)
    return master, slave, os.ttyname(slave)


class PtyCable:
    """Two pty ends (`device_path`, `gateway_path`) and the relay between them."""

    NOISY_MIN = 16  # only chunks at least this long get a flipped bit: data frames, not bare ACKs
    TAIL = 4096  # bytes of the device's output kept in device_tail

    def __init__(self, device_tty: str | None = None) -> None:
        if device_tty:
            fd = os.open(device_tty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            tty.setraw(fd)
            self._dm, self._ds, self.device_path = fd, -1, device_tty
        else:
            self._dm, self._ds, self.device_path = raw_pty()
        self.device_tail = bytearray()
        self._gm, self._gs, self.gateway_path = raw_pty()
        self._lock = threading.Lock()
        self._to_flip = {True: 0, False: 0}  # chunks still to damage, keyed by "towards the device"
        self.flipped = {"to_device": 0, "to_gateway": 0}
        self.relayed = 0
        self._running = False
        self._thread: threading.Thread | None = None

    def start(self) -> PtyCable:
        self._running = True
        self._thread = threading.Thread(target=self._relay, name="pty-cable", daemon=True)
        self._thread.start()
        return self

    def flip_bits(self, to_device: int, to_gateway: int) -> None:
        """Line noise: flip one bit in each of the next so many data chunks, each way."""
        with self._lock:
            self._to_flip[True] += to_device
            self._to_flip[False] += to_gateway

    def quiet(self) -> None:
        """No more noise: forget the flips not done yet."""
        with self._lock:
            self._to_flip = {True: 0, False: 0}

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(2.0)
        for fd in (self._dm, self._ds, self._gm, self._gs):
            if fd < 0:
                continue
            try:
                os.close(fd)
            except OSError:
                pass

    def _mangle(self, data: bytes, to_device: bool) -> bytes:
        with self._lock:
            if not self._to_flip[to_device] or len(data) < self.NOISY_MIN:
                return data
            self._to_flip[to_device] -= 1
        self.flipped["to_device" if to_device else "to_gateway"] += 1
        out = bytearray(data)
        out[len(out) // 2] ^= 0x10
        return bytes(out)

    def _relay(self) -> None:
        pending = {self._dm: bytearray(), self._gm: bytearray()}  # bytes waiting for that master
        peer = {self._dm: self._gm, self._gm: self._dm}
        while self._running:
            writers = [fd for fd, q in pending.items() if q]
            try:
                readable, writable, _ = select.select(list(pending), writers, [], 0.05)
            except (OSError, ValueError):
                return
            for src in readable:
                try:
                    data = os.read(src, 4096)
                except OSError as e:
                    if e.errno in (errno.EAGAIN, errno.EIO):
                        continue
                    return
                dst = peer[src]
                if data and src == self._dm:
                    tail = self.device_tail
                    tail += data
                    del tail[:-self.TAIL]
                if data and len(pending[dst]) < 65536:  # beyond: nobody reads, drop (an overrun)
                    self.relayed += len(data)
                    pending[dst] += self._mangle(data, dst == self._dm)
            for dst in writable:
                q = pending[dst]
                try:
                    n = os.write(dst, bytes(q))
                except OSError as e:
                    if e.errno == errno.EAGAIN:
                        continue
                    n = len(q)  # the far end is gone: drop, as a UART would
                del q[:n]
