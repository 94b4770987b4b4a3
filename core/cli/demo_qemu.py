"""`edgezmq demo --device qemu-m3`: the demo's device is a Cortex-M3 under qemu.

The firmware (`make firmware`, tools/mpbuild.py: MicroPython v1.28.0 for
qemu's mps2-an385 board, edgezmq frozen into flash, 96 KiB heap, no network)
boots in qemu-system-arm with its UART on a pty. Its raw REPL receives
ports/micropython/demo_device.py, as `mpremote run` sends a script to a
board, with PUB and REP on serial://stdio: the console UART is the link, so
the device prints nothing while it runs. The rest is the default demo: the
virtual cable (with its bit flips) between that UART and `edgezmq gateway`,
pyzmq's SUB and REQ on the desktop.
"""
from __future__ import annotations

import argparse
import importlib.util
import os  # port-ok: CPython-only front end
import sys
import time

from .demo import DEVICE_SECONDS, SerialDemo, device_script, run_reported
from .demo_desktop import DemoFailed, say
from .pty_cable import PtyCable
from .qemu_board import QemuBoard, qemu_binary

FIRMWARE = "qemu-96K"  # demo_device.py, compiled on the board from source, needs more than the 56K hw-tests run in
BUILD_PACKAGES = "gcc-arm-none-eabi libnewlib-arm-none-eabi"
RUN_PACKAGE = "qemu-system-arm"


def default_firmware() -> str:
    """build/mp/qemu-56K/firmware.elf of the checkout this package runs from."""
    import edgezmq

    root = os.path.dirname(os.path.dirname(os.path.abspath(edgezmq.__file__)))
    return os.path.join(root, "build", "mp", FIRMWARE, "firmware.elf")


def missing(firmware: str) -> str | None:
    """-> what the user must install or build first, or None."""
    if qemu_binary() is None:
        return ("the Cortex-M3 device runs in qemu-system-arm, which is not installed: "
                "apt-get install %s (Debian/Ubuntu)" % RUN_PACKAGE)
    if not os.path.exists(firmware):
        return ("no Cortex-M3 firmware at %s: run `make firmware` in the edgezmq checkout (it needs the Debian "
                "packages %s), or pass --firmware" % (firmware, BUILD_PACKAGES))
    if importlib.util.find_spec("serial") is None:
        return "the gateway needs pyserial (pip install pyserial)"
    return None


class QemuDevice:
    """The board running demo_device.py; what it says after its program ends
    comes back on the line (the cable keeps it: the raw REPL's end markers,
    and a traceback if it died)."""

    def __init__(self, board: QemuBoard, cable: PtyCable):
        self.board = board
        self.cable = cable

    def _ending(self) -> bytes | None:
        """The raw REPL's `\\x04 error \\x04>` after the program: -> error, or None (still running)."""
        tail = bytes(self.cable.device_tail)
        k = tail.rfind(b"\x04>")
        if k < 0:
            return None
        j = tail.rfind(b"\x04", 0, k)
        return tail[j + 1:k] if j >= 0 else b""

    def wait_stopped(self, timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while (err := self._ending()) is None:
            if time.monotonic() > end:
                raise DemoFailed("the device's program did not end within %.0f s" % timeout)
            time.sleep(0.05)
        if err:
            raise DemoFailed("the device's program failed (its last words below)")
        say("device log:", "program ended; the raw REPL's prompt is back on the UART")

    def stop(self) -> None:
        """Stop qemu; first show a traceback the device left on the line."""
        tail = bytes(self.cable.device_tail)
        i = tail.rfind(b"Traceback (most recent call last)")
        if i >= 0:
            for line in tail[i:].split(b"\x04")[0].decode(errors="replace").splitlines():
                say("device log:", line)
        self.board.close()


class QemuDemo(SerialDemo):
    """SerialDemo with the Cortex-M3 firmware in qemu as its device."""

    path = "device (Cortex-M3 under qemu) --virtual UART-- edgezmq gateway --TCP-- desktop (pyzmq)"
    link_timeout = 20.0  # qemu boots, the raw REPL takes the program, the device compiles it

    def __init__(self, args: argparse.Namespace, firmware: str):
        super().__init__("", args)
        self.firmware = firmware

    def start_device(self, bundle: str | None) -> PtyCable:
        a = self.args
        say("demo:", "starting the device: Cortex-M3 (qemu %s), MicroPython with edgezmq frozen, heap 96K "
            "(fixed in the firmware): %s" % ("mps2-an385", self.firmware))
        board = QemuBoard(self.firmware)
        try:
            ep = "serial://stdio?baud=%d" % a.baud
            with open(device_script()) as f:
                program = f.read()
            say("device:", "UART on %s; demo_device.py goes in through the raw REPL (as `mpremote run`), "
                "PUB and REP on %s: the console UART is the link" % (board.pty, ep))
            board.start("import sys; sys.argv[:] = ['demo_device', %r, %r, '%d']\n%s"
                        % (">" + ep, "@" + ep, DEVICE_SECONDS, program))
            cable = PtyCable(device_tty=board.pty).start()
        except BaseException:
            board.close()
            raise
        say("cable:", "virtual UART: device end %s (qemu's), gateway end %s, %d baud"
            % (cable.device_path, cable.gateway_path, a.baud))
        self.device = QemuDevice(board, cable)
        return cable


def main(a: argparse.Namespace) -> int:
    import zmq

    firmware = a.firmware or default_firmware()
    why = missing(firmware)
    if why is not None:
        print("edgezmq demo --device qemu-m3: %s" % why, file=sys.stderr)
        return 1
    if a.tcp:
        print("edgezmq demo --device qemu-m3: the emulated board has no network; its link is the serial line "
              "(leave out --tcp)", file=sys.stderr)
        return 1
    demo = QemuDemo(a, firmware)
    return run_reported(demo, lambda: demo.run(zmq, None))
