"""serial:// on CPython: the UART through pyserial, the link glue from the core.

    sock.bind("serial:///dev/ttyUSB0?baud=115200")     # the board opens channels to us
    sock.connect("serial:///dev/ttyACM0?baud=115200")  # we open a channel to the board

pyserial opens and configures the line (baud, 8N1, raw, no flow control);
reads and writes then go straight to its non-blocking file descriptor, which
the context's poller watches like a socket. A read error or end of file (the
USB adapter unplugged, the board reset) resets the link and the device is
reopened every half second until it is back (core/transports/serial/driver.py).
"""
from __future__ import annotations

import errno
import os

from edgezmq.transports.serial import driver

_fast = None


def install_fast() -> bool:
    """Use the cffi byte stuffing if it was built and EDGEZMQ_PURE is not 1 (once);
    -> whether it is in use."""
    global _fast
    if _fast is None:
        if os.environ.get("EDGEZMQ_PURE") == "1":
            _fast = False
            return _fast
        try:
            from . import linkfast

            _fast = bool(linkfast.install())
        except Exception:  # noqa: BLE001 - the pure-Python framing stays in place
            _fast = False
    return _fast


class PySerialDevice:
    """A serial line opened with pyserial, used through its non-blocking fd."""

    def __init__(self, path: str, baud: int = 115200, rtscts: bool = False) -> None:
        try:
            import serial
        except ImportError:
            raise OSError(errno.EOPNOTSUPP, "serial:// needs pyserial (pip install pyserial)") from None
        try:
            self.s = serial.Serial(path, baudrate=baud, timeout=0, write_timeout=0, rtscts=rtscts,
                                   exclusive=True)
        except (serial.SerialException, ValueError) as e:
            raise OSError(getattr(e, "errno", None) or errno.ENODEV, str(e)) from None
        self.fd = self.s.fileno()
        os.set_blocking(self.fd, False)
        self.pobj = self.fd

    def read_into(self, buf) -> int:
        try:
            n = os.readv(self.fd, [buf])
        except (BlockingIOError, InterruptedError):
            return -1
        if n == 0:
            raise OSError(errno.ENODEV, "end of file (device gone)")
        return n

    def write(self, data) -> int:
        try:
            return os.write(self.fd, data)
        except (BlockingIOError, InterruptedError):
            return 0

    def close(self) -> None:
        try:
            self.s.close()
        except Exception:  # noqa: BLE001 - closing a vanished device
            pass


def opener(ep):
    """-> a function that opens the endpoint's device (OSError if it cannot)."""
    baud = int(ep.params.get("baud") or 115200)
    rtscts = ep.params.get("rtscts") in ("1", "true", "yes")
    path = ep.path

    def open_device():
        return PySerialDevice(path, baud, rtscts)

    return open_device


def attach(ctx, sock, ep, addr, binding):
    """CPythonPort.serial_attach: bind or connect a socket on a serial device."""
    install_fast()
    return driver.attach(ctx, sock, ep, addr, binding, opener(ep))
