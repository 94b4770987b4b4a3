"""Session fixtures for the device-class builds (tools/mpbuild.py): built (or
found cached) once, shared by every test here; a missing toolchain skips
with the Debian packages to install."""
import os
import subprocess
import sys

import pytest
from mpscenarios import Runtime, compile_scripts
from support import ROOT, ensure_mp_builds, mp_build_missing

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
