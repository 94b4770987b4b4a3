"""The device scenarios of tests/micropython/mp_device.py on any MicroPython unix binary,
each against its real libzmq peer (pyzmq): shared by the tests on the 32-bit
builds (tests/micropython/) and by benchmarks/mp_bench.py's smallest-heap
search, so a figure and a test mean the same exchange.

    rt = Runtime("unix32f", binary, path)          # path: MICROPYPATH
    run(rt, "push_connect", "32K")                 # raises AssertionError (with the device's output) on a failure
"""
import os
import queue
import socket
import subprocess
import threading
import time

import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
T = 20.0  # seconds: every wait has this bound
# the scenarios: mp_device role (or a name below) -> what the pyzmq side does
CLIENTS = ("push_connect", "sub_connect", "req_connect", "dealer_connect")
SCENARIOS = CLIENTS + ("push_bind", "pull_bind", "pull_connect", "rep_bind", "rep_connect", "req_bind",
                       "sub_bind", "pub_bind", "pub_connect", "push_ipc", "rep_ipc",
                       "connect_before_bind", "asyncio", "curve_connect", "push_big_connect")


class Runtime:
    """A MicroPython binary and the MICROPYPATH that finds edgezmq and the
    device scripts (frozen builds: ".frozen" first, or the package is not found)."""

    def __init__(self, name, binary, path):
        self.name = name
        self.binary = binary
        self.path = path


def compile_scripts(mpy_cross, out):
    """tests/micropython/mp_device.py and mp_asyncio.py as .mpy in `out` (compiling
    on the device would cost heap)."""
    for name in ("mp_device", "mp_asyncio"):
        subprocess.run([mpy_cross, "-o", os.path.join(out, name + ".mpy"), os.path.join(HERE, "micropython", name + ".py")],
                       check=True)


class Device:
    """A running MicroPython process; lines of its stdout arrive on a queue."""

    def __init__(self, rt, heap, args, timeout=T):
        self.timeout = timeout
        cmd = [rt.binary, "-X", "heapsize=" + heap, "-m"] + list(args)
        self.heap = heap
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=dict(os.environ, MICROPYPATH=rt.path))
        self.lines = []
        self.q = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def output(self):
        return "\n".join(self.lines[-30:])

    def expect(self, prefix, timeout=None):
        end = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                line = self.q.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError("device (heap %s): no %r line:\n%s" % (self.heap, prefix, self.output())) from None
            if line is None:
                raise AssertionError("device (heap %s) exited (%s) before %r:\n%s"
                                     % (self.heap, self.proc.wait(), prefix, self.output()))
            self.lines.append(line)
            if line.startswith(prefix):
                return line[len(prefix):].strip()

    def finish(self):
        """-> the GOT messages, once the device printed DONE and exited 0."""
        self.expect("DONE")
        assert self.proc.wait(self.timeout) == 0, self.output()
        return [eval(ln[4:]) for ln in self.lines if ln.startswith("GOT ")]  # noqa: S307 - our own repr output

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _sock(ctx, kind, bind=None, connect=None):
    s = ctx.socket(kind)
    s.rcvtimeo = s.sndtimeo = int(T * 1000)
    s.linger = 0
    if bind:
        s.bind(bind)
    if connect:
        s.connect(connect)
    return s, (s.getsockopt(zmq.LAST_ENDPOINT).decode() if bind else None)


def _recv(s, d):
    """recv_multipart that gives up as soon as the device has died (a heap
    too small fails in a second, not after T)."""
    end = time.monotonic() + d.timeout
    dead = None
    while time.monotonic() < end:
        if s.poll(50):
            return s.recv_multipart()
        if d.proc.poll() is not None:
            dead = dead or time.monotonic()
            if time.monotonic() - dead > 0.5:
                d.expect("NO SUCH LINE", 0.5)  # raises with the device's output
    raise AssertionError("no message from the device within %ss:\n%s" % (d.timeout, d.output()))


def _check_pull(s, d):
    """The PUSH device's exchange: 5 two-part messages, a 3,000-byte frame
    (bigger than a pool slot: a long frame), "end"."""
    got = [_recv(s, d) for _ in range(7)]
    assert got[:5] == [[b"part-a-%d" % i, b"part-b-%d" % i] for i in range(5)], got
    assert got[5] == [b"x" * 3000] and got[6] == [b"end"]


MANY = 3000  # the pushmany device's messages (tests/micropython/mp_device.py)
BODY = bytes(range(256)) * 2  # up to 512 bytes of it per message: the device's default pool slot


def _check_pull_many(s, d):
    """The client goal's exchange (issue 11): 5 two-part messages, then MANY
    two-part messages whose body grows from 0 to the slot size and again,
    each checked, then "end"."""
    got = [_recv(s, d) for _ in range(5)]
    assert got == [[b"part-a-%d" % i, b"part-b-%d" % i] for i in range(5)], got
    for i in range(MANY):
        m = _recv(s, d)
        assert m == [b"%d" % i, BODY[:i % 513]], (i, m[:1], [len(f) for f in m])
    assert _recv(s, d) == [b"end"]


def _feed(s):
    for i in range(3):
        s.send_multipart([b"m%d" % i, b"two", b"three"])
    s.send(b"y" * 2000)
    s.send(b"end")


def _ask(s, d):
    for i in range(3):
        s.send_multipart([b"ask%d" % i, b"more"])
        assert _recv(s, d) == [b"re:ask%d" % i, b"re:more"]


def _answer(s, d):
    for _ in range(3):
        s.send_multipart([b"ok"] + _recv(s, d))


def _publish_until_done(s, d):
    i = 0
    end = time.monotonic() + T
    while d.proc.poll() is None and time.monotonic() < end:
        s.send_multipart([b"noise", b"%d" % i])
        s.send_multipart([b"temp", b"%d" % i])
        i += 1
        time.sleep(0.01)


def _check_sub(got):
    assert len(got) == 5, got
    first = int(got[0][1])
    assert got == [[b"temp", b"%d" % (first + k)] for k in range(5)], got


def _subscribe_and_stop(ctx, d, s):
    first = _recv(s, d)
    assert first[0] == b"temp", first
    n = int(first[1])
    for k in range(1, 20):
        assert _recv(s, d) == [b"temp", b"%d" % (n + k)]
    ctl, _ = _sock(ctx, zmq.PUSH, connect=d.expect("CTL"))
    ctl.send(b"stop")
    d.finish()


PULL_EXPECT = [[b"m%d" % i, b"two", b"three"] for i in range(3)] + [[2000], [b"end"]]
REP_EXPECT = [[b"ask%d" % i, b"more"] for i in range(3)]
REQ_EXPECT = [[b"ok", b"q%d" % i, b"tail"] for i in range(3)]


def _free_port():
    p = socket.socket()
    p.bind(("127.0.0.1", 0))
    port = p.getsockname()[1]
    p.close()
    return port


def run(rt, scenario, heap, tmpdir="/tmp", timeout=T):
    """One scenario at one heap; returns the device's MEM lines. Raises
    AssertionError, with the device's last lines, when the exchange is wrong
    (or a step takes longer than `timeout` seconds)."""
    ctx = zmq.Context()
    devs = []

    def device(*args):
        d = Device(rt, heap, args, timeout)
        devs.append(d)
        return d

    try:
        _SCENARIO[scenario](ctx, device, tmpdir)
        return [ln for d in devs for ln in d.lines if ln.startswith("MEM")]
    except (AssertionError, zmq.ZMQError) as e:
        raise AssertionError("%s at %s on %s: %s" % (scenario, heap, rt.name, e)) from None
    finally:
        for d in devs:
            d.kill()
        ctx.destroy(linger=0)


def _push_connect(ctx, device, tmp, ep="tcp://127.0.0.1:*", role="push_connect", check=_check_pull):
    s, ep = _sock(ctx, zmq.PULL, bind=ep)
    d = device("mp_device", role, ep)
    check(s, d)
    d.finish()


def _push_bind(ctx, device, tmp):
    d = device("mp_device", "push_bind")
    s, _ = _sock(ctx, zmq.PULL, connect=d.expect("EP"))
    _check_pull(s, d)
    d.finish()


def _pull(ctx, device, tmp, bind):
    if bind:
        d = device("mp_device", "pull_bind")
        s, _ = _sock(ctx, zmq.PUSH, connect=d.expect("EP"))
    else:
        s, ep = _sock(ctx, zmq.PUSH, bind="tcp://127.0.0.1:*")
        d = device("mp_device", "pull_connect", ep)
    _feed(s)
    assert d.finish() == PULL_EXPECT


def _rep(ctx, device, tmp, ep=None):
    if ep is None or ep.startswith("ipc"):
        d = device("mp_device", "rep_bind", *([ep] if ep else []))
        s, _ = _sock(ctx, zmq.REQ, connect=d.expect("EP"))
    else:
        s, ep = _sock(ctx, zmq.REQ, bind=ep)
        d = device("mp_device", "rep_connect", ep)
    _ask(s, d)
    assert d.finish() == REP_EXPECT


def _req(ctx, device, tmp, bind):
    if bind:
        d = device("mp_device", "req_bind")
        s, _ = _sock(ctx, zmq.REP, connect=d.expect("EP"))
    else:
        s, ep = _sock(ctx, zmq.REP, bind="tcp://127.0.0.1:*")
        d = device("mp_device", "req_connect", ep)
    _answer(s, d)
    assert d.finish() == REQ_EXPECT


def _sub(ctx, device, tmp, bind):
    if bind:
        d = device("mp_device", "sub_bind")
        s, _ = _sock(ctx, zmq.PUB, connect=d.expect("EP"))
    else:
        s, ep = _sock(ctx, zmq.PUB, bind="tcp://127.0.0.1:*")
        d = device("mp_device", "sub_connect", ep)
    _publish_until_done(s, d)
    _check_sub(d.finish())


def _pub(ctx, device, tmp, bind):
    if bind:
        d = device("mp_device", "pub_bind")
        s, _ = _sock(ctx, zmq.SUB, connect=d.expect("EP"))
    else:
        s, ep = _sock(ctx, zmq.SUB, bind="tcp://127.0.0.1:*")
        d = device("mp_device", "pub_connect", ep)
    s.subscribe(b"temp")
    _subscribe_and_stop(ctx, d, s)


def _dealer(ctx, device, tmp):
    s, ep = _sock(ctx, zmq.ROUTER, bind="tcp://127.0.0.1:*")
    d = device("mp_device", "dealer_connect", ep)
    for _ in range(3):
        ident, empty, body = _recv(s, d)
        s.send_multipart([ident, empty, b"R" + body])
    assert d.finish() == [[b"", b"Rd%d" % i] for i in range(3)]


def _connect_before_bind(ctx, device, tmp):
    """A refused connect (ERR/HUP: MicroPython has no SO_ERROR) is retried."""
    port = _free_port()
    d = device("mp_device", "push_connect", "tcp://127.0.0.1:%d" % port)
    time.sleep(0.7)  # several refused attempts (RECONNECT_IVL 100 ms)
    s, _ = _sock(ctx, zmq.PULL, bind="tcp://127.0.0.1:%d" % port)
    _check_pull(s, d)
    d.finish()


def _asyncio(ctx, device, tmp):
    src, src_ep = _sock(ctx, zmq.PUSH, bind="tcp://127.0.0.1:*")
    sink, sink_ep = _sock(ctx, zmq.PULL, bind="tcp://127.0.0.1:*")
    d = device("mp_asyncio", src_ep, sink_ep, "20")
    for i in range(20):
        src.send_multipart([b"m%d" % i, b"x" * i])
        time.sleep(0.01)
    got = [_recv(sink, d) for _ in range(20)]
    assert got == [[b"echo", b"m%d" % i, b"x" * i] for i in range(20)]
    ticks = int(d.expect("TICKS"))
    d.finish()
    assert ticks > 5, d.output()  # the other task ran while recv waited


def _curve(ctx, device, tmp):
    """CURVE client PUSH (the device's pure/viper NaCl) to a libzmq CURVE server."""
    pk, sk = zmq.curve_keypair()
    s = ctx.socket(zmq.PULL)
    s.curve_server = True
    s.curve_publickey, s.curve_secretkey = pk, sk
    s.linger = 0
    port = s.bind_to_random_port("tcp://127.0.0.1")
    d = device("mp_device", "curve_connect", "tcp://127.0.0.1:%d" % port, pk.decode())
    for i in range(3):
        assert _recv(s, d) == [b"secret-%d" % i, b"x" * 300]
    d.finish()


_SCENARIO = {
    "curve_connect": _curve,
    # the client goal: thousands of messages up to the slot size
    "push_connect": lambda c, d, t: _push_connect(c, d, t, role="pushmany_connect", check=_check_pull_many),
    "push_big_connect": _push_connect,  # the 3,000-byte frame
    "push_bind": _push_bind,
    "pull_bind": lambda c, d, t: _pull(c, d, t, True),
    "pull_connect": lambda c, d, t: _pull(c, d, t, False),
    "rep_bind": lambda c, d, t: _rep(c, d, t),
    "rep_connect": lambda c, d, t: _rep(c, d, t, "tcp://127.0.0.1:*"),
    "req_connect": lambda c, d, t: _req(c, d, t, False),
    "req_bind": lambda c, d, t: _req(c, d, t, True),
    "sub_connect": lambda c, d, t: _sub(c, d, t, False),
    "sub_bind": lambda c, d, t: _sub(c, d, t, True),
    "pub_bind": lambda c, d, t: _pub(c, d, t, True),
    "pub_connect": lambda c, d, t: _pub(c, d, t, False),
    "dealer_connect": _dealer,
    "push_ipc": lambda c, d, t: _push_connect(c, d, t, "ipc://%s/pull-%d.ipc" % (t, os.getpid())),
    "rep_ipc": lambda c, d, t: _rep(c, d, t, "ipc://%s/rep-%d.ipc" % (t, os.getpid())),
    "connect_before_bind": _connect_before_bind,
    "asyncio": _asyncio,
}


def passes(rt, scenario, heap, tmpdir="/tmp"):
    """True when the scenario passes at this heap (for the smallest-heap search)."""
    try:
        run(rt, scenario, heap, tmpdir, timeout=8.0)
        return True
    except AssertionError:
        return False


def smallest_heap(rt, scenario, lo=8, hi=128, step=4, tmpdir="/tmp"):
    """The smallest heap in KiB (to `step`) at which the scenario passes,
    confirmed by two more runs there; None if it fails at `hi`."""
    if not passes(rt, scenario, "%dK" % hi, tmpdir):
        return None
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if mid <= lo:
            mid = lo + step
        if passes(rt, scenario, "%dK" % mid, tmpdir):
            hi = mid
        else:
            lo = mid
    while not all(passes(rt, scenario, "%dK" % hi, tmpdir) for _ in range(2)):
        hi += step  # flaky at the edge: the figure is where it passes three times
    return hi
