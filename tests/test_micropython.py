"""The core on the MicroPython unix port, against real libzmq (pyzmq).

Each test builds the device bundle (.mpy) once, runs tests/mp_device.py in the
real `micropython` binary with MICROPYPATH pointing at the bundle, and checks
the bytes that crossed the wire. Heap figures (live after the first
handshake, and mem_peak, which on the unix port counts the bytes allocated
since start) are printed: run with -s to see them (docs/micropython.md).
"""
import os
import queue
import subprocess
import threading
import time

import pytest
from support import ROOT, micropython_binary

pytestmark = pytest.mark.micropython

MP = micropython_binary()
DEVICE = os.path.join(ROOT, "tests", "mp_device.py")
# The heap the scenarios are run with. The target is 64K; the core does not
# fit there yet when its bytecode is loaded into RAM on the 64-bit unix port
# (see docs/micropython.md, "Memory"); test_client_small_heap records where we
# are. Every scenario passes at 144K today (clients that connect at 112-128K,
# benchmarks/mp_bench.py prints the smallest heaps); 160K keeps a margin and
# catches a regression of more than ~16K.
HEAP = os.environ.get("EDGEZMQ_MP_HEAP", "160K")
CURVE_HEAP = os.environ.get("EDGEZMQ_MP_CURVE_HEAP", "256K")
TIMEOUT = 20.0

if MP is None:
    pytest.skip("MicroPython unix port not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from edgezmq.ports.cpython import cmd_bundle

    out = str(tmp_path_factory.mktemp("mpbundle"))
    tool = cmd_bundle.find_mpy_cross()
    cmd_bundle.build(out, mpy=tool is not None)
    if tool is not None:  # the device script too: compiling it on the device costs heap
        subprocess.run([tool, "-o", os.path.join(out, "mp_device.mpy"), DEVICE], check=True)
    return out


class Device:
    """A running MicroPython process; lines of its stdout arrive on a queue."""

    def __init__(self, bundle, role, endpoint=None, heap=HEAP, extra=()):
        script = ["-m", "mp_device"] if os.path.exists(os.path.join(bundle, "mp_device.mpy")) else [DEVICE]
        args = [MP, "-X", "heapsize=" + heap] + script + [role]
        if endpoint:
            args.append(endpoint)
        args.extend(extra)
        env = dict(os.environ, MICROPYPATH=bundle)
        self.heap = heap
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
        self.lines = []
        self.q = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def expect(self, prefix, timeout=TIMEOUT):
        """The rest of the next line starting with prefix (other lines are kept)."""
        while True:
            try:
                line = self.q.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError("device: no %r line; output so far:\n%s" % (prefix, "\n".join(self.lines))) from None
            if line is None:
                raise AssertionError("device exited (%s) before %r:\n%s" % (self.proc.poll(), prefix, "\n".join(self.lines)))
            self.lines.append(line)
            if line.startswith(prefix):
                return line[len(prefix):].strip()

    def finish(self, timeout=TIMEOUT):
        self.expect("DONE", timeout)
        assert self.proc.wait(timeout) == 0, "\n".join(self.lines)
        mems = [ln for ln in self.lines if ln.startswith("MEM")]
        for m in mems:
            print("[micropython heap=%s] %s" % (self.heap, m))
        return [eval(ln[4:]) for ln in self.lines if ln.startswith("GOT ")]  # noqa: S307 - our own repr output

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def device(bundle):
    started = []

    def start(role, endpoint=None, heap=HEAP, extra=()):
        d = Device(bundle, role, endpoint, heap, extra)
        started.append(d)
        return d

    yield start
    for d in started:
        d.kill()


def _pz(pz, kind, bind_ep=None, connect_ep=None):
    import zmq

    s = pz.socket(kind)
    s.rcvtimeo = int(TIMEOUT * 1000)
    s.sndtimeo = int(TIMEOUT * 1000)
    s.linger = 0
    if bind_ep:
        s.bind(bind_ep)
    if connect_ep:
        s.connect(connect_ep)
    return s, (s.getsockopt(zmq.LAST_ENDPOINT).decode() if bind_ep else None)


# -- PUSH / PULL ------------------------------------------------------------------
def _check_pull(s):
    got = [s.recv_multipart() for _ in range(7)]
    assert got[:5] == [[b"part-a-%d" % i, b"part-b-%d" % i] for i in range(5)]
    assert got[5] == [b"x" * 3000]
    assert got[6] == [b"end"]


def test_device_push_connects(pz, device):
    import zmq

    s, ep = _pz(pz, zmq.PULL, bind_ep="tcp://127.0.0.1:*")
    d = device("push_connect", ep)
    _check_pull(s)
    d.finish()


def test_device_push_binds(pz, device):
    import zmq

    d = device("push_bind")
    s, _ = _pz(pz, zmq.PULL, connect_ep=d.expect("EP"))
    _check_pull(s)
    d.finish()


def _feed_push(s):
    for i in range(3):
        s.send_multipart([b"m%d" % i, b"two", b"three"])
    s.send(b"y" * 2000)
    s.send(b"end")


PULL_EXPECT = [[b"m%d" % i, b"two", b"three"] for i in range(3)] + [[2000], [b"end"]]


def test_device_pull_binds(pz, device):
    import zmq

    d = device("pull_bind")
    s, _ = _pz(pz, zmq.PUSH, connect_ep=d.expect("EP"))
    _feed_push(s)
    assert d.finish() == PULL_EXPECT


def test_device_pull_connects(pz, device):
    import zmq

    s, ep = _pz(pz, zmq.PUSH, bind_ep="tcp://127.0.0.1:*")
    d = device("pull_connect", ep)
    _feed_push(s)
    assert d.finish() == PULL_EXPECT


# -- REQ / REP --------------------------------------------------------------------
def _ask(s):
    for i in range(3):
        s.send_multipart([b"ask%d" % i, b"more"])
        assert s.recv_multipart() == [b"re:ask%d" % i, b"re:more"]


REP_EXPECT = [[b"ask%d" % i, b"more"] for i in range(3)]


def test_device_rep_binds(pz, device):
    import zmq

    d = device("rep_bind")
    s, _ = _pz(pz, zmq.REQ, connect_ep=d.expect("EP"))
    _ask(s)
    assert d.finish() == REP_EXPECT


def test_device_rep_connects(pz, device):
    import zmq

    s, ep = _pz(pz, zmq.REQ, bind_ep="tcp://127.0.0.1:*")
    d = device("rep_connect", ep)
    _ask(s)
    assert d.finish() == REP_EXPECT


def _answer(s, n=3):
    for _ in range(n):
        m = s.recv_multipart()
        s.send_multipart([b"ok"] + m)


REQ_EXPECT = [[b"ok", b"q%d" % i, b"tail"] for i in range(3)]


def test_device_req_connects(pz, device):
    import zmq

    s, ep = _pz(pz, zmq.REP, bind_ep="tcp://127.0.0.1:*")
    d = device("req_connect", ep)
    _answer(s)
    assert d.finish() == REQ_EXPECT


def test_device_req_binds(pz, device):
    import zmq

    d = device("req_bind")
    s, _ = _pz(pz, zmq.REP, connect_ep=d.expect("EP"))
    _answer(s)
    assert d.finish() == REQ_EXPECT


# -- PUB / SUB --------------------------------------------------------------------
def _subscribe_and_check(pz, d, s):
    """Receive 20 consecutive 'temp' messages (never 'other'), then stop the device."""
    import zmq

    first = s.recv_multipart()
    assert first[0] == b"temp"
    n = int(first[1])
    for k in range(1, 20):
        assert s.recv_multipart() == [b"temp", b"%d" % (n + k)]
    ctl, _ = _pz(pz, zmq.PUSH, connect_ep=d.expect("CTL"))
    ctl.send(b"stop")
    d.finish()


def test_device_pub_binds(pz, device):
    import zmq

    d = device("pub_bind")
    s, _ = _pz(pz, zmq.SUB, connect_ep=d.expect("EP"))
    s.subscribe(b"temp")
    _subscribe_and_check(pz, d, s)


def test_device_pub_connects(pz, device):
    import zmq

    s, ep = _pz(pz, zmq.SUB, bind_ep="tcp://127.0.0.1:*")
    s.subscribe(b"temp")
    d = device("pub_connect", ep)
    _subscribe_and_check(pz, d, s)


def _publish_until_done(s, d):
    import time

    i = 0
    deadline = time.monotonic() + TIMEOUT
    while d.proc.poll() is None and time.monotonic() < deadline:
        s.send_multipart([b"noise", b"%d" % i])
        s.send_multipart([b"temp", b"%d" % i])
        i += 1
        time.sleep(0.01)


def _check_sub(got):
    assert len(got) == 5
    first = int(got[0][1])
    assert got == [[b"temp", b"%d" % (first + k)] for k in range(5)]


def test_device_sub_connects(pz, device):
    import zmq

    s, ep = _pz(pz, zmq.PUB, bind_ep="tcp://127.0.0.1:*")
    d = device("sub_connect", ep)
    _publish_until_done(s, d)
    _check_sub(d.finish())


def test_device_sub_binds(pz, device):
    import zmq

    d = device("sub_bind")
    s, _ = _pz(pz, zmq.PUB, connect_ep=d.expect("EP"))
    _publish_until_done(s, d)
    _check_sub(d.finish())


# -- DEALER -------------------------------------------------------------------------
def test_device_dealer_connects_to_router(pz, device):
    import zmq

    s, ep = _pz(pz, zmq.ROUTER, bind_ep="tcp://127.0.0.1:*")
    d = device("dealer_connect", ep)
    for _ in range(3):
        ident, empty, body = s.recv_multipart()
        s.send_multipart([ident, empty, b"R" + body])
    assert d.finish() == [[b"", b"Rd%d" % i] for i in range(3)]


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

    from edgezmq.ports.cpython import cmd_bundle

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
    for lazy in ("poll", "sugar", "misc", "monitor", "security.zap", "proxy", "security.plain",
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


# -- ipc (AF_UNIX on the unix port) -------------------------------------------------
def test_device_push_over_ipc(pz, device, tmp_path):
    import zmq

    s, ep = _pz(pz, zmq.PULL, bind_ep="ipc://%s" % (tmp_path / "pull.ipc"))
    d = device("push_connect", ep)
    _check_pull(s)
    d.finish()


def test_device_rep_binds_ipc(pz, device, tmp_path):
    import zmq

    d = device("rep_bind", "ipc://%s" % (tmp_path / "rep.ipc"))
    s, _ = _pz(pz, zmq.REQ, connect_ep=d.expect("EP"))
    _ask(s)
    assert d.finish() == REP_EXPECT


def test_device_connects_before_the_peer_binds(pz, device):
    """A refused connect (seen as ERR/HUP: MicroPython has no SO_ERROR) is retried."""
    import socket
    import time

    import zmq

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    d = device("push_connect", "tcp://127.0.0.1:%d" % port)
    time.sleep(0.7)  # several refused attempts (RECONNECT_IVL 100 ms)
    s, _ = _pz(pz, zmq.PULL, bind_ep="tcp://127.0.0.1:%d" % port)
    _check_pull(s)
    d.finish()


# -- CURVE ------------------------------------------------------------------------------
def test_device_curve_client_to_libzmq_server(pz, device):
    """CURVE handshake and MESSAGE boxes from MicroPython (pure/viper NaCl) to libzmq."""
    import zmq

    pk, sk = zmq.curve_keypair()
    s = pz.socket(zmq.PULL)
    s.curve_server = True
    s.curve_publickey = pk
    s.curve_secretkey = sk
    s.rcvtimeo = int(TIMEOUT * 1000)
    s.linger = 0
    port = s.bind_to_random_port("tcp://127.0.0.1")
    # pure-Python NaCl: ~146K live after the handshake, more than the default heap
    d = device("curve_connect", "tcp://127.0.0.1:%d" % port, heap=CURVE_HEAP, extra=(pk.decode(),))
    for i in range(3):
        assert s.recv_multipart() == [b"secret-%d" % i, b"x" * 300]
    d.finish()


def test_device_out_of_heap_refuses_then_recovers(pz, device):
    """No heap for a new connection: the device closes it, logs, keeps running,
    and accepts libzmq's reconnect once memory is back."""
    import zmq

    d = device("tight_bind")
    s, _ = _pz(pz, zmq.PUSH, connect_ep=d.expect("EP"))
    s.sndtimeo = 10000
    d.expect("FULL")
    d.expect("FREED")
    s.send_multipart([b"after", b"recovery"])
    assert d.finish() == [[b"after", b"recovery"]]
    assert any("no memory for a connection" in ln for ln in d.lines), "\n".join(d.lines)


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


# -- asyncio -----------------------------------------------------------------------
def test_device_asyncio(pz, bundle):
    """edgezmq.asyncio on MicroPython's own asyncio (frozen in the firmware,
    hence ".frozen" on MICROPYPATH): awaitable recv/send against libzmq while
    another task keeps running."""
    import zmq

    src, src_ep = _pz(pz, zmq.PUSH, bind_ep="tcp://127.0.0.1:*")
    sink, sink_ep = _pz(pz, zmq.PULL, bind_ep="tcp://127.0.0.1:*")
    proc = subprocess.Popen([MP, "-X", "heapsize=" + HEAP, os.path.join(ROOT, "tests", "mp_asyncio.py"), src_ep, sink_ep, "20"],
                            env=dict(os.environ, MICROPYPATH=bundle + ":.frozen"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for i in range(20):
            src.send_multipart([b"m%d" % i, b"x" * i])
            time.sleep(0.01)
        got = [sink.recv_multipart() for _ in range(20)]
        out = proc.communicate(timeout=TIMEOUT)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert got == [[b"echo", b"m%d" % i, b"x" * i] for i in range(20)]
    assert "DONE" in out, out
    ticks = int(out.split("TICKS")[1].split()[0])
    assert ticks > 5, out  # the other task ran while recv waited


# -- Wi-Fi -------------------------------------------------------------------------
def test_wifi_keeper(pz, bundle):
    """ports/micropython/wifi.py on the unix port, with a scripted WLAN: a
    short outage keeps the TCP connection, a long one and an address change
    redial at once; libzmq sees exactly those reconnects and every message
    arrives once, in order."""
    import zmq

    pull, ep = _pz(pz, zmq.PULL, bind_ep="tcp://127.0.0.1:*")
    mon = pull.get_monitor_socket(zmq.EVENT_ACCEPTED)
    got = []  # read while the device runs: libzmq drops what a closed connection left unread
    reader = threading.Thread(target=lambda: got.extend(pull.recv() for _ in range(12)), daemon=True)
    reader.start()
    r = subprocess.run([MP, "-X", "heapsize=" + HEAP, os.path.join(ROOT, "tests", "mp_wifi.py"), ep],
                       env=dict(os.environ, MICROPYPATH=bundle), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "DONE" in r.stdout, r.stdout + r.stderr
    reader.join(TIMEOUT)
    assert got == [b"%s-%d" % (t, i) for t in (b"before", b"short", b"long", b"newip") for i in range(3)]
    lines = r.stdout.splitlines()
    assert "UP 10.0.0.5" in lines
    assert "RESETS short 0" in lines and "RESETS long 1" in lines and "RESETS newip 2" in lines, r.stdout
    assert "OUTAGES 3" in r.stdout and "ADDRESS 10.0.0.9" in r.stdout
    joins = int(r.stdout.split("JOINS")[1].split()[0])
    assert joins > 2  # the keeper kept rejoining while the link was down
    accepted = 0
    while mon.poll(500):
        mon.recv_multipart()
        accepted += 1
    assert accepted == 3  # the first connection, and one per redial
