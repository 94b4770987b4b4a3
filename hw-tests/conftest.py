"""Hardware-in-the-loop rig: the virtual device by default, a real board with --device.

    pytest hw-tests                                   # virtual device (MicroPython unix port on a pty)
    pytest hw-tests --device=/dev/ttyACM0 --uart=/dev/ttyUSB0 --board-uart="uart1?tx=4&rx=5"
    make hw-test DEVICE=/dev/ttyACM0 UART=/dev/ttyUSB0

Virtual: the device is `micropython -X heapsize=HEAP` running hw_device.py
against the .mpy bundle; its UART is one end of a PtyCable (two raw ptys,
VMIN=0, joined by a fault-injecting relay); the gateway (`edgezmq gateway`,
a subprocess) opens the other end. Resetting the device kills the process
and starts it again.

Real board: the bundle and hw_device.py are copied with mpremote over
DEVICE (the board's USB REPL); the board's UART (--board-uart, default
uart1) is wired to a USB-serial adapter on the host (--uart). The relay
sits between that adapter and a pty the gateway opens, so the same fault
injection applies. Resetting the board is `mpremote reset`. Without --uart
only test_link_over_the_console runs (serial://stdio: the link on the
board's USB REPL port itself, opened by the gateway).
"""
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))  # tests/support.py, tests/ptyrelay.py

from hwrig import Rig  # noqa: E402


def pytest_addoption(parser):
    g = parser.getgroup("hw-tests")
    g.addoption("--device", default="", help="the board's REPL port (mpremote); empty: virtual device")
    g.addoption("--uart", default="", help="host serial port wired to the board's UART")
    g.addoption("--board-uart", default="uart1", help="the board's side: uartN[?tx=..&rx=..]")
    g.addoption("--baud", default="115200", help="link baud rate")
    g.addoption("--heap", default=os.environ.get("EDGEZMQ_HW_HEAP", "256K"),
                help="virtual device heap (-X heapsize)")


def pytest_configure(config):
    config.addinivalue_line("markers", "virtual_only: needs the virtual device (process control)")


@pytest.fixture(scope="session")
def hw_bundle(tmp_path_factory):
    """The .mpy device bundle, with hw_device compiled beside it."""
    from edgezmq.cli import bundle as cmd_bundle

    out = str(tmp_path_factory.mktemp("hwbundle"))
    tool = cmd_bundle.find_mpy_cross()
    cmd_bundle.build(out, mpy=tool is not None)
    src = os.path.join(HERE, "hw_device.py")
    if tool:
        subprocess.run([tool, "-o", os.path.join(out, "hw_device.mpy"), src], check=True)
    else:
        shutil.copy(src, out)
    return out


@pytest.fixture
def rig(request, hw_bundle):
    r = Rig(request.config, hw_bundle)
    yield r
    r.close()


@pytest.fixture
def pz():
    zmq = pytest.importorskip("zmq")
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)
