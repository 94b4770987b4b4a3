"""`make typecheck` (tests/mp_typecheck.py) bites: a name MicroPython lacks, in
core/ or ports/micropython/, is reported for the boards that lack it; a line
marked `# port-ok` is not; and the real tree is clean."""
import os
import shutil

import mp_typecheck
import pytest
from support import ROOT

pytestmark = pytest.mark.skipif(
    not all(os.path.isfile(os.path.join(ROOT, ".stubs", b, "stdlib", "VERSIONS")) for b in mp_typecheck.BOARDS),
    reason="MicroPython stubs not installed (make typecheck installs them)",
)

ALL = ["unix", "rp2", "esp32"]

CORE_PROBE = '''\
import os
import socket
import sys
import threading
import time


def run(buf):
    t = threading.Thread(target=run)
    a = time.monotonic()
    b = os.getpid()
    c = sys.getrefcount(buf)
    d = "x".ljust(3)
    e = (5).bit_length()
    f = socket.SO_ERROR
    g = time.monotonic()  # port-ok: the exemption under test
    try:
        pass
    except ConnectionResetError:
        pass
    h = time.ticks_ms() + len(buf) + os.urandom(1)[0]
    return t, a, b, c, d, e, f, g, h
'''

PORT_PROBE = '''\
import select


def wait(fds):
    return select.epoll()
'''


def _line(text, needle):
    return [n for n, line in enumerate(text.splitlines(), 1) if needle in line][0]


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    """findings for a copy of the tree with one bad module in core/ and one in ports/micropython/."""
    root = tmp_path_factory.mktemp("tree")
    skip = shutil.ignore_patterns("__pycache__", "build", "*.so", "*.mpy")
    for d in ("core", "ports"):
        shutil.copytree(os.path.join(ROOT, d), str(root / d), ignore=skip)
    (root / "core" / "_probe.py").write_text(CORE_PROBE)
    (root / "ports" / "micropython" / "_probe.py").write_text(PORT_PROBE)
    found = {}
    for (path, line, code, msg), boards in mp_typecheck.check(str(root)).items():
        found.setdefault((path, line), []).append((code, msg, sorted(boards, key=ALL.index)))
    return found


@pytest.mark.parametrize("needle, boards", [
    ("import threading", ALL),
    ("a = time.monotonic()", ALL),
    ("os.getpid", ALL),
    ("sys.getrefcount", ALL),
    ("ljust", ALL),
    ("bit_length", ALL),
    ("except ConnectionResetError", ALL),
    ("socket.SO_ERROR", ["rp2", "esp32"]),  # the unix port has it
])
def test_reports_what_micropython_lacks(probed, needle, boards):
    line = _line(CORE_PROBE, needle)
    got = probed.get(("core/_probe.py", line))
    assert got, "core/_probe.py:%d (%s) not reported; got %s" % (line, needle, sorted(probed))
    assert got[0][2] == boards, got


def test_checks_the_micropython_port_too(probed):
    got = probed.get(("ports/micropython/_probe.py", _line(PORT_PROBE, "select.epoll")))
    assert got and got[0][2] == ALL, probed


def test_port_ok_and_micropython_api_are_not_reported(probed):
    for needle in ("port-ok", "ticks_ms"):
        line = _line(CORE_PROBE, needle)
        assert ("core/_probe.py", line) not in probed, probed[("core/_probe.py", line)]
    others = sorted(k for k in probed if not k[0].endswith("_probe.py"))
    assert not others, "findings outside the probes: %s" % [(k, probed[k]) for k in others]


def test_real_tree_is_clean():
    findings = mp_typecheck.check(ROOT)
    assert not findings, "\n".join(
        "%s:%d: %s [%s] (%s)" % (p, n, msg, code, ", ".join(b)) for (p, n, code, msg), b in sorted(findings.items()))
