"""A Cortex-M3 board under qemu (mps2-an385) whose UART is a pty, driven
through MicroPython's raw REPL as mpremote drives a real board.

`edgezmq demo --device qemu-m3` runs its device this way, and the hw-tests
(tests/support.py re-exports QemuBoard) run their firmware this way.
`icount=True` makes qemu's clock count instructions (repeatable timings:
1 instruction = 1 ns of the guest's clock).
"""
from __future__ import annotations

import os  # port-ok: CPython-only front end
import re
import select
import shutil
import subprocess  # port-ok: CPython-only front end
import termios
import time
import tty

QEMU = "qemu-system-arm"
MACHINE = "mps2-an385"


def qemu_binary() -> str | None:
    return shutil.which(QEMU)


class QemuBoard:
    """The firmware running in qemu; `.pty` is its UART."""

    def __init__(self, firmware: str, icount: bool = False):
        cmd = [QEMU, "-machine", MACHINE, "-nographic", "-monitor", "null", "-semihosting",
               "-serial", "pty", "-kernel", firmware] + (["-icount", "shift=0"] if icount else [])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.fd: int | None = None
        line = self.proc.stdout.readline().decode(errors="replace")
        m = re.search(r"(/dev/pts/\d+)", line)
        if not m:
            self.close()
            raise RuntimeError("qemu did not report its pty: %r" % line)
        self.pty = m.group(1)

    def _read_until(self, token: bytes, timeout: float) -> bytes:
        buf = b""
        end = time.monotonic() + timeout
        while not buf.endswith(token):
            if time.monotonic() > end:
                raise TimeoutError("qemu: waiting for %r, got %r" % (token, buf[-400:]))
            if select.select([self.fd], [], [], 0.05)[0]:
                try:
                    buf += os.read(self.fd, 1)
                except OSError:  # EIO until qemu's side of the pty is up
                    time.sleep(0.02)
        return buf

    def _write(self, data: bytes) -> None:
        while data:
            data = data[os.write(self.fd, data):]

    def raw_repl(self) -> None:
        self.fd = os.open(self.pty, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        self._write(b"\r\x03\x03")
        time.sleep(0.2)
        termios.tcflush(self.fd, termios.TCIFLUSH)
        self._write(b"\r\x01")
        self._read_until(b"raw REPL; CTRL-B to exit\r\n>", 20)

    def exec(self, code: str, timeout: float = 60) -> str:
        """Run code; -> its stdout (raises RuntimeError with its traceback)."""
        if self.fd is None:
            self.raw_repl()
        self._write(code.encode() + b"\x04")
        self._read_until(b"OK", timeout)
        out = self._read_until(b"\x04", timeout)[:-1]
        err = self._read_until(b"\x04", timeout)[:-1]
        self._read_until(b">", timeout)
        if err:
            raise RuntimeError("device: %s" % err.decode(errors="replace"))
        return out.decode(errors="replace")

    def start(self, code: str) -> None:
        """Start code and let go of the UART: the program owns the line now
        (serial://stdio) and the caller opens `.pty` for the link."""
        if self.fd is None:
            self.raw_repl()
        self._write(code.encode() + b"\x04")
        self._read_until(b"OK", 20)
        os.close(self.fd)
        self.fd = None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
