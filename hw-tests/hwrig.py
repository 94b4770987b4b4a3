"""The hw-tests rig (a plain module, so its name never collides with tests/conftest.py):
gateway and device processes, the virtual device and a real board. See conftest.py."""
import os
import queue
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

from ptyrelay import PtyCable  # noqa: E402
from support import LONG_TIMEOUT, free_port, micropython_binary  # noqa: E402,F401 (the tests import them from here)

PY = sys.executable
T = LONG_TIMEOUT  # seconds: generous for loaded CI machines


class Lines:
    """Lines of a child's output on a queue (and all kept)."""

    def __init__(self, stream, echo=""):
        self.q = queue.Queue()
        self.all = []
        self.echo = echo
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            line = line.rstrip("\n")
            self.all.append(line)
            self.q.put(line)
        self.q.put(None)

    def expect(self, text, timeout=T):
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            try:
                line = self.q.get(timeout=max(0.01, left))
            except queue.Empty:
                line = ""
            if line is None:
                raise AssertionError("%s exited before %r:\n%s" % (self.echo, text, "\n".join(self.all[-40:])))
            if text in line:
                return line
            if left <= 0:
                raise AssertionError("%s: no %r within %ss:\n%s" % (self.echo, text, timeout, "\n".join(self.all[-40:])))


class Gateway:
    """`edgezmq gateway` as a subprocess; its log lines are kept."""

    def __init__(self, serial_ep, tcp_ep, connect=False, stats=1.0, extra=()):
        args = [PY, "-m", "edgezmq", "gateway", serial_ep, tcp_ep, "--stats", str(stats), "-v"]
        if connect:
            args.append("--connect")
        args.extend(extra)
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                                     cwd=ROOT)
        self.log = Lines(self.proc.stderr, "gateway")

    def next_stats(self, timeout=T):
        """Wait for a stats line printed after this call, as a dict."""
        seen = sum("stats " in ln for ln in self.log.all)
        end = time.monotonic() + timeout
        while sum("stats " in ln for ln in self.log.all) <= seen:
            assert time.monotonic() < end and self.proc.poll() is None, "no new stats line"
            time.sleep(0.05)
        return self.stats()

    def stats(self):
        """The last stats line as a dict."""
        for line in reversed(self.log.all):
            if "stats " in line:
                return dict(kv.split("=") for kv in line.split("stats ", 1)[1].split())
        return {}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        time.sleep(0.05)


class VirtualDevice:
    """The MicroPython unix port on one end of the cable."""

    virtual = True

    def __init__(self, bundle, heap, cable_path, baud):
        self.bundle = bundle
        self.heap = heap
        self.path = cable_path
        self.baud = baud
        self.proc = None
        self.out = None
        self.args = None
        self.link = ""  # more link options (Rig.set_link)

    def endpoint(self):
        return "serial://%s?baud=%s%s" % (self.path, self.baud, self.link)

    def start(self, role, *args):
        self.args = (role,) + args
        call = "import hw_device; hw_device.main(%s)" % ", ".join(repr(a) for a in (role, self.endpoint()) + args)
        self.proc = subprocess.Popen([micropython_binary(), "-X", "heapsize=" + self.heap, "-c", call],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=dict(os.environ, MICROPYPATH=self.bundle))
        self.out = Lines(self.proc.stdout, "device")
        return self.out

    def reset(self):
        """A device reset: the process dies mid-stream, the firmware starts again."""
        self.kill()
        return self.start(*self.args)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class BoardDevice:
    """A real board: hw_device over mpremote, its UART wired to the host's --uart."""

    virtual = False

    def __init__(self, bundle, port, board_uart, baud):
        self.port = port
        self.board_uart = board_uart
        self.baud = baud
        self.args = None
        self.out = None
        self.link = ""  # more link options (Rig.set_link)
        mp = [PY, "-m", "mpremote", "connect", port]
        subprocess.run(mp + ["mkdir", ":lib"], capture_output=True)
        subprocess.run(mp + ["cp", "-r", os.path.join(bundle, "edgezmq"), ":lib/"], check=True)
        name = "hw_device.mpy" if os.path.exists(os.path.join(bundle, "hw_device.mpy")) else "hw_device.py"
        subprocess.run(mp + ["cp", os.path.join(bundle, name), ":" + name], check=True)

    def endpoint(self):
        u = self.board_uart
        return "serial://%s%sbaud=%s%s" % (u, "&" if "?" in u else "?", self.baud, self.link)

    def start(self, role, *args):
        self.args = (role,) + args
        call = "import hw_device; hw_device.main(%s)" % ", ".join(repr(a) for a in (role, self.endpoint()) + args)
        subprocess.run([PY, "-m", "mpremote", "connect", self.port, "soft-reset"], capture_output=True)
        p = subprocess.Popen([PY, "-m", "mpremote", "connect", self.port, "exec", call],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.proc = p
        self.out = Lines(p.stdout, "board")
        return self.out

    def reset(self):
        self.kill()
        subprocess.run([PY, "-m", "mpremote", "connect", self.port, "reset"], capture_output=True)
        time.sleep(2.0)  # the USB REPL comes back
        return self.start(*self.args)

    def kill(self):
        p = getattr(self, "proc", None)
        if p is not None and p.poll() is None:
            p.terminate()
            p.wait(5)


class Rig:
    """One test's device, cable and gateway."""

    def __init__(self, config, bundle):
        self.config = config
        self.baud = config.getoption("--baud")
        board = config.getoption("--device")
        if board:
            uart = config.getoption("--uart")
            if not uart:
                pytest.skip("needs --uart (the host adapter wired to the board's UART); "
                            "without it only test_link_over_the_console runs")
            self.cable = PtyCable(seed=1, a_tty=uart, a_baud=int(self.baud)).start()
            self.device = BoardDevice(bundle, board, config.getoption("--board-uart"), self.baud)
        else:
            if micropython_binary() is None:
                pytest.skip("the virtual device needs the MicroPython unix port (.venv/bin/micropython)")
            self.cable = PtyCable(seed=1).start()
            self.device = VirtualDevice(bundle, config.getoption("--heap"), self.cable.a_path, self.baud)
        self.gateways = []
        self.link = ""

    def set_link(self, **params):
        """Link options (timeout_ms=..., see docs/gateway.md) for both ends:
        the device and the gateways started after this call."""
        self.link = "".join("&%s=%s" % kv for kv in sorted(params.items()))
        self.device.link = self.link

    @property
    def virtual(self):
        return self.device.virtual

    def gateway(self, tcp_ep=None, connect=False, path=None, **kw):
        if tcp_ep is None:
            tcp_ep = "tcp://127.0.0.1:%d" % free_port()
        g = Gateway("serial://%s?baud=%s%s" % (path or self.cable.b_path, self.baud, self.link), tcp_ep, connect, **kw)
        g.endpoint = tcp_ep
        self.gateways.append(g)
        end = time.monotonic() + T
        while True:  # fail fast (with the device's output) if the device died
            try:
                g.log.expect("link up", timeout=1.0)
                return g
            except AssertionError:
                proc = getattr(self.device, "proc", None)
                if proc is not None and proc.poll() is not None:
                    out = self.device.out.all if self.device.out else []
                    raise AssertionError("the device exited (%s):\n%s" % (proc.returncode, "\n".join(out[-30:]))) from None
                if time.monotonic() > end or g.proc.poll() is not None:
                    raise

    def close(self):
        self.device.kill()
        for g in self.gateways:
            g.stop()
        self.cable.stop()


