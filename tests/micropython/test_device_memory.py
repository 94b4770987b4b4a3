"""The device's memory: heap profile of the imports, a lean import, clients in
small heaps, the viper copy allocating nothing, a steady state that
allocates nothing."""
import os
import subprocess
import threading

import pytest
from device_kit import HEAP, MP, _check_pull, _pz
from support import ROOT

pytestmark = pytest.mark.micropython

if MP is None:
    pytest.skip("MicroPython unix port not installed", allow_module_level=True)


# -- memory ------------------------------------------------------------------------
def _profile_script(mods):
    """Straight-line imports with a measurement around each (a loop over
    __import__ trips an interpreter fault in this MicroPython build)."""
    lines = ["import gc", "total = 0"]
    for m in mods:
        lines += [
            "gc.collect(); a = gc.mem_alloc()",
            "import %s" % m,
            "gc.collect(); d = gc.mem_alloc() - a; total += d",
            "print('IMPORT %s', d)" % m,
        ]
    lines.append("print('TOTAL', total)")
    return "\n".join(lines) + "\n"


_MODULES = (
    "constants errors _compat zmtp zmtp.frames zmtp.greeting zmtp.metadata security "
    "security.mechanism zmtp.connection pool session reactor options endpoint transports "
    "transports.stream transports.connecter patterns context poll socket ports ports.micropython.port "
    "patterns.base patterns.simple patterns.pubsub patterns.reqrep"
).split()


def test_heap_profile(bundle, tmp_path):
    """Heap taken by importing each module (.mpy loaded into RAM, 64-bit unix port).

    The package __init__ is replaced by an empty one so that modules load one
    by one in dependency order. Printed for docs/micropython.md; the budget
    only guards against regressions until the core's diet lands.
    """
    import shutil

    from edgezmq.cli import bundle as cmd_bundle

    prof = tmp_path / "prof"
    shutil.copytree(os.path.join(bundle, "edgezmq"), prof / "edgezmq")
    for ext in (".mpy", ".py"):
        p = prof / "edgezmq" / ("__init__" + ext)
        if p.exists():
            p.unlink()
    (prof / "edgezmq" / "__init__.py").write_text("")
    script = tmp_path / "profile.py"
    script.write_text(_profile_script(["edgezmq." + m for m in _MODULES]))
    r = subprocess.run([MP, "-X", "heapsize=1M", str(script)], capture_output=True, text=True,
                       env=dict(os.environ, MICROPYPATH=str(prof)), timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = [ln.split() for ln in r.stdout.splitlines()]
    for row in rows:
        print("[micropython heap profile%s] %s" % ("" if cmd_bundle.find_mpy_cross() else " (.py)", " ".join(row)))
    total = int(rows[-1][1])
    # 116.5K before the diet (docs/micropython.md), 111.6K after it
    assert total < 118 * 1024, "the core's import footprint grew to %d bytes" % total


_LEAN = """
import sys
import edgezmq as zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
print("LOADED", " ".join(sorted(k for k in sys.modules if k.startswith("edgezmq"))))
print("LAZY", zmq.NOBLOCK, zmq.EPERM, zmq.Poller.__name__, zmq.zmq_version(), s.get_stats()["sent"])
print("HAS", hasattr(zmq, "NO_SUCH_NAME"), hasattr(s, "no_such_attr"))
"""


def test_device_import_is_lean(bundle, tmp_path):
    """`import edgezmq` on a device loads only what a socket needs; the rest
    (Poller, rare constants, module functions, Socket conveniences, monitor,
    ZAP, PLAIN/CURVE, proxy, serial) loads on first use and then works."""
    script = tmp_path / "lean.py"
    script.write_text(_LEAN)
    r = subprocess.run([MP, "-X", "heapsize=256K", str(script)], capture_output=True, text=True,
                       env=dict(os.environ, MICROPYPATH=bundle), timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    loaded = set(r.stdout.split("LOADED", 1)[1].split("\n", 1)[0].split())
    for lazy in ("poll", "sugar", "versions", "frame", "security.keys", "monitor", "security.zap", "proxy", "security.plain",
                 "security.curve", "z85", "transports.serial.link", "transports.serial.driver",
                 "patterns.pubsub", "patterns.reqrep", "context_extra", "transports.listener",
                 "transports.inproc", "ports.micropython.listen"):
        assert "edgezmq." + lazy not in loaded, lazy
    assert "LAZY 1 1 Poller 4.3.5 0" in r.stdout, r.stdout
    assert "HAS False False" in r.stdout, r.stdout


SMALL_HEAP_XFAIL = pytest.mark.xfail(
    strict=False,
    reason="target not met yet: on the 64-bit unix port (.mpy bytecode copied to RAM) the core, "
    "port and Context take ~80K and a PUSH client is ~98K live after its handshake; the "
    "smallest heap that passes is 112K (DEALER) / 128K (PUSH: the 3000-byte frame finds no "
    "contiguous block, import leaves the free heap in <=512-byte holes); see docs/micropython.md 'Memory'",
)


@SMALL_HEAP_XFAIL
@pytest.mark.parametrize("heap", ["64K", "32K"])
@pytest.mark.parametrize("role", ["push", "dealer"])
def test_client_small_heap(pz, device, role, heap):
    """The heap targets: a client at 64K, and at 32K."""
    import zmq

    peer = zmq.PULL if role == "push" else zmq.ROUTER
    s, ep = _pz(pz, peer, bind_ep="tcp://127.0.0.1:*")
    s.rcvtimeo = 5000
    d = device(role + "_connect", ep, heap=heap)
    d.expect("MEM", timeout=10)  # handshake done (fails fast on a MemoryError)
    if role == "push":
        _check_pull(s)
    else:
        for _ in range(3):
            ident, empty, body = s.recv_multipart()
            s.send_multipart([ident, empty, b"R" + body])
    d.finish(timeout=5)


_COPY = """
import micropython
from edgezmq.ports.micropython import port
from edgezmq.ports.micropython.port import copy_py
src = bytes(range(256)) * 4
a = bytearray(1100)
b = bytearray(1100)
fast = port.copy
micropython.heap_lock()
try:
    fast(a, 7, src, 3, 1000)
    copy_py(b, 7, src, 3, 1000)
    fast(a, 0, src, 0, 0)
finally:
    micropython.heap_unlock()
print("SAME", a == b, "VIPER", fast is not copy_py)
"""


def test_copy_viper_matches_pure_and_allocates_nothing(bundle, tmp_path):
    script = tmp_path / "copy.py"
    script.write_text(_COPY)
    r = subprocess.run([MP, "-X", "heapsize=256K", str(script)], capture_output=True, text=True,
                       env=dict(os.environ, MICROPYPATH=bundle), timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SAME True VIPER True" in r.stdout


# -- steady state ------------------------------------------------------------------
def test_steady_state_allocates_nothing(pz, bundle):
    """Issue #3: after a warm-up, 1,000 recv_into into a caller's buffer and
    1,000 sends from a caller's buffer change gc.mem_alloc() by 0 bytes (gc
    disabled, so every allocation would count). The convenience API's bytes
    per message are printed (-s) for docs/micropython.md."""
    import zmq

    n = 1000
    src = pz.socket(zmq.PUSH)
    src.sndhwm = 0
    src.linger = 0
    src_ep = "tcp://127.0.0.1:%d" % src.bind_to_random_port("tcp://127.0.0.1")
    sink = pz.socket(zmq.PULL)
    sink.linger = 0
    sink_ep = "tcp://127.0.0.1:%d" % sink.bind_to_random_port("tcp://127.0.0.1")
    want = 200 + n + 200  # warm-up, recv_into window, recv + recv_multipart windows
    feeder = threading.Thread(target=lambda: [src.send(b"m" * 100) for _ in range(want + 50)], daemon=True)
    feeder.start()
    got = []

    def drain():
        sink.rcvtimeo = 30000
        try:
            while len(got) < 200 + n:
                got.append(len(sink.recv()))
        except zmq.Again:
            pass

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    script = os.path.join(ROOT, "benchmarks", "mp_alloc.py")
    r = subprocess.run([MP, "-X", "heapsize=" + HEAP, script, src_ep, sink_ep, str(n)],
                       env=dict(os.environ, MICROPYPATH=bundle), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "DONE" in r.stdout, r.stdout + r.stderr
    drainer.join(30)
    alloc = {}
    for line in r.stdout.splitlines():
        if line.startswith("ALLOC "):
            _, api, count, nbytes = line.split()
            alloc[api] = int(nbytes) / int(count)
            print("[micropython] %s: %.1f bytes allocated per 100-byte message" % (api, alloc[api]))
    assert alloc["recv_into"] == 0, r.stdout
    assert alloc["send"] == 0, r.stdout
    assert got == [100] * (200 + n)  # the device's sends arrived, whole
    assert 0 < alloc["recv"] < 1024  # a bytes object per message, bounded
