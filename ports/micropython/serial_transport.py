"""serial:// on MicroPython: machine.UART on boards, the tty file on the unix port.

    serial://uart0?baud=115200&tx=0&rx=1     machine.UART(0, 115200, tx=Pin(0), rx=Pin(1))
    serial:///dev/ttyUSB0?baud=115200        unix port: the tty opened as a file
    serial://stdio                           the console (USB CDC): the link shares the REPL's cable

Options besides the link's (core/transports/serial/driver.py): `tx`, `rx` (pin
numbers), `rxbuf`, `txbuf` (UART driver buffers, bytes; default 1024 and
512 where the port takes them). Both devices are pollable with select.poll.
"""
import errno

from ...transports.serial.driver import attach as _attach
from ...transports.serial.driver import link_options


class TtyDevice:
    """A tty (or pty) opened as a file: raw, VMIN=0 so a read never waits."""

    def __init__(self, path, baud):
        self.f = open(path, "r+b")
        try:
            import termios  # port-ok: unix port only (tty device)

            fd = self.f.fileno()
            termios.setraw(fd)
            a = termios.tcgetattr(fd)
            cc = a[6]
            cc[6] = 0  # VMIN (Linux index)
            cc[5] = 0  # VTIME
            b = getattr(termios, "B%d" % baud, None)
            if b is not None:
                a[4] = a[5] = b
            termios.tcsetattr(fd, termios.TCSANOW, a)
        except (ImportError, OSError, AttributeError, TypeError, IndexError):
            pass  # no termios: the line is used as configured (stty)
        self.pobj = self.f

    def read_into(self, buf):
        n = self.f.readinto(buf)
        return 0 if n is None else n

    def write(self, data):
        n = self.f.write(data)
        return 0 if n is None else n

    def close(self):
        self.f.close()


class UartDevice:
    """machine.UART(n): the board's hardware UART."""

    def __init__(self, idx, baud, params):
        try:
            from machine import UART, Pin
        except ImportError:
            raise OSError(errno.ENODEV, "no machine.UART on this port") from None
        kw = {"baudrate": baud}
        for k in ("tx", "rx"):
            v = params.get(k)
            if v:  # a pin number, or a name where the port uses names ("PA2")
                kw[k] = Pin(int(v) if v.isdigit() else v)  # port-ok: boards (no machine.UART on unix)
        kw["rxbuf"] = int(params.get("rxbuf") or 1024)
        kw["txbuf"] = int(params.get("txbuf") or 512)
        try:
            self.u = UART(idx, **kw)
        except (TypeError, ValueError):
            del kw["rxbuf"], kw["txbuf"]  # a port without driver buffer options
            self.u = UART(idx, **kw)
        self.pobj = self.u

    def read_into(self, buf):
        n = self.u.readinto(buf)
        return 0 if n is None else n

    def write(self, data):
        n = self.u.write(data)  # port-ok: boards (no machine.UART on unix)
        return 0 if n is None else n

    def close(self):
        try:
            self.u.deinit()  # port-ok: boards (no machine.UART on unix)
        except AttributeError:
            pass


class StdioDevice:
    """The board's console (USB CDC or REPL UART) as the line: one USB cable
    for power and link. Ctrl-C is disabled (0x03 is link data); the program
    must print nothing (its output would be line noise). Untested on boards."""

    def __init__(self):
        import select
        import sys

        import micropython

        try:
            micropython.kbd_intr(-1)
        except AttributeError:
            pass
        self.i = sys.stdin.buffer
        self.o = sys.stdout.buffer
        self.pobj = sys.stdin
        self.p = select.poll()
        self.p.register(sys.stdin, select.POLLIN)
        self.one = bytearray(1)

    def read_into(self, buf):
        n = 0
        one = self.one
        size = len(buf)
        while n < size and self.p.poll(0):
            if not self.i.readinto(one):
                break
            buf[n] = one[0]
            n += 1
        return n

    def write(self, data):
        n = self.o.write(data)
        return 0 if n is None else n

    def close(self):
        try:
            import micropython

            micropython.kbd_intr(3)
        except (ImportError, AttributeError):
            pass


def opener(ep):
    p = ep.params
    baud = int(p.get("baud") or 115200)
    path = ep.path
    if path == "stdio":
        return StdioDevice
    if path.startswith("uart"):
        try:
            idx = int(path[4:])
        except ValueError:
            raise OSError(errno.EINVAL, "serial://uartN expected") from None

        def open_uart():
            return UartDevice(idx, baud, p)

        return open_uart

    def open_tty():
        return TtyDevice(path, baud)

    return open_tty


def attach(ctx, sock, ep, addr, binding):
    """MicroPythonPort.serial_attach: bind or connect a socket on a serial device.
    A channel's buffers default to 2 x mtu each way here (the Link's 4 x mtu
    costs a device 2 KB more per channel); the endpoint's query overrides."""
    kw = link_options(ep.params)
    mtu = kw.get("mtu", 256)
    for k in ("rx_buffer", "tx_buffer"):
        if k not in kw:
            kw[k] = 2 * mtu
    return _attach(ctx, sock, ep, addr, binding, opener(ep), kw)
