"""the end-to-end demo: a MicroPython sensor device on a virtual UART, the gateway, pyzmq peers

    edgezmq demo            # device -- virtual UART -- edgezmq gateway -- TCP -- pyzmq
    edgezmq demo --tcp      # device -- TCP -- pyzmq (no serial link)
    edgezmq demo --device qemu-m3   # the device is a Cortex-M3 under qemu (demo_qemu.py)

Builds the device bundle into a temporary folder and starts the MicroPython
unix port as a "sensor device" (ports/micropython/demo_device.py: a PUB
publishing temperature readings, a REP answering commands). By default its
UART is one end of a virtual cable (two pseudo-terminals, pty_cable.py) and
`edgezmq gateway` (a subprocess, as you would run it) opens the other end and
relays the link to TCP: the device's PUB connects out (the gateway dials the
desktop's SUB) and its REP is bound (the desktop's REQ connects in through
the gateway). The desktop side is pyzmq (real libzmq): it prints readings,
switches the LED and sees it in the readings, puts noise on the line for a
moment (CRC errors and retries, not lost readings), stops the device, and
prints the gateway's link statistics as they come and at the end.
Exits 0 when every step worked, 1 otherwise; ends within about 15 seconds.
"""
from __future__ import annotations

import argparse
import importlib.util
import os  # port-ok: CPython-only front end
import shutil
import signal
import subprocess  # port-ok: CPython-only front end
import sys
import tempfile
import time
from typing import TYPE_CHECKING  # port-ok: CPython-only front end

from .demo_desktop import DemoFailed, Desktop, Lines, say

if TYPE_CHECKING:
    from .pty_cable import PtyCable

HEAP = "256K"  # passes at 192K today; docs/micropython.md says where the heap goes
BAUD = 115200
DEVICE_SECONDS = 20  # the device stops by itself after this, should the desktop never say "stop"


def device_script() -> str:
    """ports/micropython/demo_device.py, wherever the package is (checkout or wheel)."""
    import edgezmq.ports

    return os.path.join(edgezmq.ports.__path__[0], "micropython", "demo_device.py")


def _micropython() -> str | None:
    cand = os.path.join(os.path.dirname(sys.executable), "micropython")
    return cand if os.path.exists(cand) else shutil.which("micropython")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="edgezmq demo", description=__doc__.splitlines()[0])
    ap.add_argument("--tcp", action="store_true", help="the device on TCP directly: no serial link, no gateway")
    ap.add_argument("--heap", default=HEAP, help="MicroPython heap size (default %s)" % HEAP)
    ap.add_argument("--readings", type=int, default=5, help="readings to print")
    ap.add_argument("--baud", type=int, default=BAUD, help="serial link speed (default %d)" % BAUD)
    ap.add_argument("--stats", type=float, default=1.0, help="seconds between link statistics (default 1)")
    ap.add_argument("--device", choices=("unix", "qemu-m3"), default="unix",
                    help="unix: the MicroPython unix port (default); qemu-m3: the Cortex-M3 firmware of "
                         "`make firmware` under qemu-system-arm, edgezmq frozen, its UART the link")
    ap.add_argument("--firmware", help="qemu-m3: the firmware.elf (default: the checkout's build/mp/%s)"
                    % "qemu-96K")
    a = ap.parse_args(argv)
    try:
        import zmq
    except ImportError:
        print("edgezmq demo: needs pyzmq for the desktop side (pip install pyzmq)", file=sys.stderr)
        return 1
    if a.device == "qemu-m3":
        from . import demo_qemu

        return demo_qemu.main(a)
    mp = _micropython()
    if mp is None:
        print("edgezmq demo: the MicroPython unix port is not installed (micropython)", file=sys.stderr)
        return 1
    if not a.tcp:
        if importlib.util.find_spec("serial") is None:  # the gateway's side of the cable
            print("edgezmq demo: the gateway needs pyserial (pip install pyserial); or run --tcp",
                  file=sys.stderr)
            return 1
    from . import bundle as builder

    tmp = tempfile.mkdtemp(prefix="edgezmq-demo-")
    demo = SerialDemo(mp, a) if not a.tcp else TcpDemo(mp, a)

    def run() -> bool:
        builder.build(tmp, mpy=builder.find_mpy_cross() is not None)
        say("demo:", "device bundle built in %s" % tmp)
        return demo.run(zmq, tmp)

    return run_reported(demo, run, lambda: shutil.rmtree(tmp, ignore_errors=True))


def run_reported(demo, run, cleanup=None) -> int:
    """Run a demo, say how it ended and how long it took (a failure is
    reported, never a traceback); -> the exit status."""
    started = time.monotonic()
    ok = False
    try:
        ok = run()
    except DemoFailed as e:
        say("demo:", "FAILED: %s" % e)
    except Exception as e:  # noqa: BLE001 - report and fail
        say("demo:", "FAILED: %s: %s" % (type(e).__name__, e))
    finally:
        demo.close()
        if cleanup is not None:
            cleanup()
    say("demo:", "%s in %.1f s" % ("OK" if ok else "FAILED", time.monotonic() - started))
    return 0 if ok else 1


class DeviceProcess:
    """The MicroPython unix port running demo_device.py; its output as Lines."""

    def __init__(self, mp: str, heap: str, bundle: str, pub_spec: str, rep_spec: str):
        say("demo:", "starting the device: MicroPython unix port, heap %s (--heap)" % heap)
        self.proc = subprocess.Popen(
            [mp, "-X", "heapsize=" + heap, device_script(), pub_spec, rep_spec, str(DEVICE_SECONDS)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, MICROPYPATH=bundle),
        )
        self.lines = Lines(self.proc.stdout, echo=lambda line: say("device log:", line))

    def wait_stopped(self) -> None:
        self.lines.wait_for("device: stopped")

    def stop(self) -> None:
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.lines.finished(2.0)  # what the device said last (a MemoryError, a traceback)


class TcpDemo:
    """The device binds TCP; pyzmq connects to it directly."""

    def __init__(self, mp: str, args: argparse.Namespace):
        self.mp = mp
        self.args = args
        self.device: DeviceProcess | None = None
        self.desktop: Desktop | None = None

    def run(self, zmq, bundle: str) -> bool:
        say("demo:", "path: device --TCP-- desktop (pyzmq)")
        self.device = DeviceProcess(self.mp, self.args.heap, bundle, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*")
        pub_at, rep_at = self.device.lines.endpoints()
        self.desktop = d = Desktop(zmq, timeout_ms=3000)
        d.sub.connect(pub_at)
        d.req.connect(rep_at)
        d.readings_and_commands(self.args.readings)
        d.stop_device(self.device)
        return True

    def close(self) -> None:
        if self.desktop is not None:
            self.desktop.close()
        if self.device is not None:
            self.device.stop()


class SerialDemo:
    """The device on a virtual UART, `edgezmq gateway` between it and TCP."""

    def __init__(self, mp: str, args: argparse.Namespace):
        self.mp = mp
        self.args = args
        self.cable: PtyCable | None = None
        self.device: DeviceProcess | None = None
        self.gateway: subprocess.Popen | None = None
        self.desktop: Desktop | None = None

    path = "device --virtual UART-- edgezmq gateway --TCP-- desktop (pyzmq)"

    def run(self, zmq, bundle: str) -> bool:
        a = self.args
        say("demo:", "path: " + self.path)
        self.desktop = d = Desktop(zmq, timeout_ms=5000)
        d.sub.bind("tcp://127.0.0.1:*")  # the gateway dials it for the device's PUB
        sub_at = d.sub.last_endpoint.decode()
        say("desktop:", "SUB bound to %s (the gateway dials it for the device's PUB)" % sub_at)
        self.cable = cable = self.start_device(bundle)

        gw_args = ["gateway", "serial://%s?baud=%d" % (cable.gateway_path, a.baud),
                   "--listen", "tcp://127.0.0.1:*", "--dial", sub_at, "--stats", str(a.stats), "-v"]
        say("demo:", "starting: edgezmq %s" % " ".join(gw_args))
        self.gateway = subprocess.Popen([sys.executable, "-m", "edgezmq"] + gw_args,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        glog = Lines(self.gateway.stderr, echo=_gateway_line)
        listen_at = glog.wait_for("listening on").split("listening on ", 1)[1].strip()
        glog.wait_for("link up", timeout=self.link_timeout)
        d.req.connect(listen_at)
        say("desktop:", "REQ connected to %s (the gateway opens a channel to the device's REP)" % listen_at)

        d.readings_and_commands(a.readings)
        d.through_noise(cable)
        d.stop_device(self.device)
        d.close()  # before the gateway goes: libzmq would reconnect to it
        return self._final_stats(self.gateway, glog, cable)

    link_timeout = 10.0  # s from the gateway's start to "link up"

    def start_device(self, bundle: str) -> PtyCable:
        """The cable, and the device on its end; -> the cable."""
        from .pty_cable import PtyCable

        a = self.args
        cable = PtyCable().start()
        say("cable:", "virtual UART: device end %s, gateway end %s, %d baud"
            % (cable.device_path, cable.gateway_path, a.baud))
        dev_ep = "serial://%s?baud=%d" % (cable.device_path, a.baud)
        self.device = DeviceProcess(self.mp, a.heap, bundle, ">" + dev_ep, "@" + dev_ep)
        self.device.lines.endpoints()
        return cable

    @staticmethod
    def _final_stats(gateway: subprocess.Popen, glog: Lines, cable: PtyCable) -> bool:
        """Stop the gateway as Ctrl-C would; its last line is the final statistics."""
        gateway.send_signal(signal.SIGTERM)
        line = glog.wait_for("final stats", timeout=5.0)
        st = parse_stats(line)
        if st.get("frames_rx", 0) <= 0 or st.get("frames_tx", 0) <= 0:
            raise DemoFailed("the gateway relayed no frames: %s" % line)
        damaged = cable.flipped["to_gateway"]
        if damaged and st["crc_errors"] + st["bad_frames"] == 0:
            raise DemoFailed("%d damaged chunks reached the gateway but it counted no bad frame" % damaged)
        return True

    def close(self) -> None:
        if self.desktop is not None:
            self.desktop.close()
        if self.device is not None:
            self.device.stop()
        if self.gateway is not None and self.gateway.poll() is None:
            self.gateway.send_signal(signal.SIGTERM)
            try:
                self.gateway.wait(5)
            except subprocess.TimeoutExpired:
                self.gateway.kill()
                self.gateway.wait()
        if self.cable is not None:
            self.cable.stop()


def parse_stats(line: str) -> dict[str, int]:
    """A gateway `stats k=v ...` log line -> {k: v}."""
    text = line.split("stats ", 1)[1]
    return {k: int(v) for k, v in (kv.split("=", 1) for kv in text.split())}


def render_stats(st: dict[str, int]) -> str:
    """The figures a reader of the demo cares about, in words."""
    return ("frames %d tx / %d rx, retries %d, CRC errors %d, bad frames %d, resets %d, link %s, channels %d"
            % (st["frames_tx"], st["frames_rx"], st["retransmits"], st["crc_errors"], st["bad_frames"],
               st["resets"], "up" if st["up"] else "down", st["channels"]))


def _gateway_line(line: str) -> None:
    """Echo one line of the gateway's log: statistics in words, the rest as it is."""
    text = line.split("gateway: ", 1)[-1]  # drop the timestamp
    if text.startswith(("stats ", "final stats ")):
        try:
            st = parse_stats(text)
            say("link stats:" if text.startswith("stats") else "final stats:", render_stats(st))
            return
        except (ValueError, KeyError):
            pass
    say("gateway:", text)
