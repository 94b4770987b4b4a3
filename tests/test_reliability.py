"""Reliability: faults, load and long runs, with nothing lost silently.

Real libzmq peers (pyzmq) run in subprocesses on 127.0.0.1 so they can be
killed, restarted and frozen. See docs/reliability.md for the guarantees these
tests hold edgezmq to.
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time

import edgezmq as zmq
import pytest

pytest.importorskip("zmq")

HERE = os.path.dirname(os.path.abspath(__file__))
RESTARTS = int(os.environ.get("EDGEZMQ_RESTARTS", "10"))


# -- helpers ---------------------------------------------------------------------
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def spawn(script, *args):
    """Run a pyzmq peer script in a subprocess; waits for its 'ready' line."""
    p = subprocess.Popen(
        [sys.executable, "-u", "-c", textwrap.dedent(script)] + [str(a) for a in args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = p.stdout.readline()
    if line.strip() != "ready":
        p.kill()
        raise RuntimeError("peer did not start: %r %s" % (line, p.stderr.read()))
    return p


def kill(p):
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGCONT)
        except OSError:
            pass
        p.kill()
    p.wait(10)
    for f in (p.stdout, p.stderr):
        if f:
            f.close()


def fd_count():
    return len(os.listdir("/proc/self/fd"))


def rss_kb(pid="self"):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_for(cond, timeout, step=0.01):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def order_runs(seqs):
    """How many increasing runs the sequence splits into at least (patience
    sorting). Messages are in order per connection; after a reconnect a dead
    connection's last whole messages may still be read (fair-queued) beside
    the new connection's, so a stream over reconnects is a merge of a few
    increasing runs, never a shuffle."""
    import bisect

    tails = []
    for x in seqs:
        i = bisect.bisect_left(tails, x)  # the run whose tail is the largest below x
        if i == 0:
            tails.insert(0, x)
        else:
            tails[i - 1] = x
            tails.sort()
    return len(tails)


def recv_event(mon, timeout_ms):
    """Next monitor event as (event, value, address) or None."""
    if not mon.poll(timeout_ms):
        return None
    a, b = mon.recv_multipart()
    ev, val = struct.unpack("<HI", a)
    return ev, val, b


# pyzmq peers -------------------------------------------------------------------
PUB_PEER = """
import sys, time, zmq
port, inc = int(sys.argv[1]), int(sys.argv[2])
ctx = zmq.Context()
s = ctx.socket(zmq.PUB)
s.bind("tcp://127.0.0.1:%d" % port)
print("ready", flush=True)
seq = 0
while True:
    s.send_multipart([b"%d" % inc, b"%d" % seq])
    seq += 1
    time.sleep(0.001)
"""

PUSH_PEER = """
import sys, time, zmq, hashlib
port, rate = int(sys.argv[1]), float(sys.argv[2])
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.sndhwm = 100000
s.bind("tcp://127.0.0.1:%d" % port)
print("ready", flush=True)
seq = 0
while True:
    body = hashlib.sha256(b"%d" % seq).digest() * (1 + seq % 40 + (8000 if seq % 500 == 7 else 0))
    s.send_multipart([b"%d" % seq, body])
    seq += 1
    if rate:
        time.sleep(rate)
"""

REP_PEER = """
import os, sys, zmq
port = int(sys.argv[1])
ctx = zmq.Context()
s = ctx.socket(zmq.REP)
s.bind("tcp://127.0.0.1:%d" % port)
print("ready", flush=True)
while True:
    m = s.recv()
    if m.startswith(b"die"):
        os._exit(0)
    s.send(b"re:" + m)
"""

PULL_PEER = """
import sys, zmq
port = int(sys.argv[1])
ctx = zmq.Context()
s = ctx.socket(zmq.PULL)
s.rcvhwm = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
s.bind("tcp://127.0.0.1:%d" % port)
print("ready", flush=True)
n = 0
total = 0
while True:
    m = s.recv()
    if m == b"END":
        break
    n += 1
    total += len(m)
print("got", n, total, flush=True)
"""


# -- whole multipart messages only ------------------------------------------------
def _raw_push(ctx, port):
    """A raw ZMTP 3.1 NULL PUSH peer: greeting + READY, handshake finished."""
    r = socket.create_connection(("127.0.0.1", port), timeout=5)
    greeting = b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x01" + b"NULL".ljust(20, b"\x00")
    r.sendall(greeting + b"\x00" + b"\x00" * 31)
    body = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", 4) + b"PUSH"
    r.sendall(bytes((0x04, len(body))) + body)
    r.settimeout(0.01)
    got = b""
    end = time.monotonic() + 5
    while len(got) < 64 + 2 + len(body):  # its greeting and its READY
        assert time.monotonic() < end, "no handshake from edgezmq: %r" % got
        try:
            chunk = r.recv(200)
        except socket.timeout:
            _pump(ctx)  # cooperative mode: someone has to run the reactor
            continue
        assert chunk, "edgezmq closed the raw peer during the handshake"
        got += chunk
    r.settimeout(5)
    return r


@pytest.mark.timeout(30)
@pytest.mark.parametrize("io_threads", [1, 0])
def test_peer_dying_mid_message_yields_no_half_message(io_threads):
    ctx = zmq.Context(io_threads=io_threads)
    try:
        pull = ctx.socket(zmq.PULL)
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        pull.rcvtimeo = 5000
        raw = _raw_push(ctx, port)
        # one whole message, then the first two frames of a three-part one, then death
        raw.sendall(b"\x00\x05whole")
        free0 = ctx.pool.nfree
        # the second frame arrives in two reads, so its body lands in a pool slot
        raw.sendall(b"\x01\x05part1" + b"\x01\xc8" + b"p" * 100)
        assert pull.recv_multipart() == [b"whole"]
        assert wait_for(lambda: _pump(ctx) or _partial_frames(pull) == 1, 5)
        raw.sendall(b"q" * 100)
        # the two frames reached edgezmq (held back, invisible), then the peer dies
        assert wait_for(lambda: _pump(ctx) or _partial_frames(pull) == 2, 5)
        assert pull.poll(0) == 0
        assert ctx.pool.nfree == free0 - 1
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.close()
        assert wait_for(lambda: pull.get_stats()["disconnects"] == 1 or _pump(ctx), 5)
        # a good peer keeps going after the broken one
        good = _raw_push(ctx, port)
        good.sendall(b"\x01\x02g1" + b"\x00\x02g2")
        assert pull.recv_multipart() == [b"g1", b"g2"]
        with pytest.raises(zmq.Again):
            pull.recv(zmq.NOBLOCK)
        st = pull.get_stats()
        assert st["received"] == 2
        assert st["dropped_disconnect"] == 1  # the cut message, counted once
        assert st["connects"] == 2
        assert ctx.pool.nfree == free0  # the cut message's buffer came back
        good.close()
    finally:
        ctx.destroy(linger=0)


def _partial_frames(sock):
    with sock.ctx.lock:
        return sum(p.inq.partial for p in sock.pattern.pipes)


def _pump(ctx):
    if ctx.io_thread is None:
        with ctx.lock:
            ctx.reactor.run_once(10)
    return False


# -- peer restarts -----------------------------------------------------------------
def _restart_stream(n_restarts, per_life=20, io_threads=1):
    """A libzmq PUB killed and restarted n times: the edgezmq SUB reconnects,
    resubscribes, and each incarnation's messages arrive once and in order."""
    port = free_port()
    ctx = zmq.Context(io_threads=io_threads)
    sub = ctx.socket(zmq.SUB)
    sub.reconnect_ivl = 20
    sub.reconnect_ivl_max = 200
    sub.rcvtimeo = 10000
    sub.subscribe(b"")
    mon = sub.get_monitor_socket(zmq.EVENT_CONNECT_RETRIED)
    sub.connect("tcp://127.0.0.1:%d" % port)
    seen = {}
    delays = []
    fds = []
    try:
        for inc in range(n_restarts + 1):
            p = spawn(PUB_PEER, port, inc)
            try:
                got = 0
                while got < per_life:
                    i, seq = sub.recv_multipart()
                    i, seq = int(i), int(seq)
                    assert i <= inc
                    if i < inc:
                        continue  # late data from the previous incarnation's socket
                    seen.setdefault(i, []).append(seq)
                    got += 1
            finally:
                kill(p)
            fds.append(fd_count())
            if inc % 3 == 2:
                # a longer outage: the redial interval backs off. Waiting inside
                # poll lets a cooperative context redial too.
                end = time.monotonic() + 0.5
                while time.monotonic() < end:
                    if sub.poll(max(1, int((end - time.monotonic()) * 1000))):
                        sub.recv_multipart()  # the dead publisher's tail
            while True:
                ev = recv_event(mon, 0)
                if ev is None:
                    break
                delays.append(ev[1])
        st = sub.get_stats()
        mon.close()
    finally:
        ctx.destroy(linger=0)
    for inc, seqs in seen.items():
        # once and in order; no gap while connected (the publisher is slower than us)
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (inc, seqs[:50])
    assert len(seen) == n_restarts + 1
    assert st["connects"] >= n_restarts + 1
    assert st["disconnects"] >= n_restarts
    # redials back off from RECONNECT_IVL up to RECONNECT_IVL_MAX
    assert delays and min(delays) == 20 and max(delays) <= 200
    assert max(delays) > 20, delays
    # no descriptor piles up over the restarts (one dial may be in progress)
    assert max(fds[1:]) - min(fds[1:]) <= 2, fds
    return st


@pytest.mark.timeout(120)
@pytest.mark.parametrize("io_threads", [1, 0], ids=["thread", "coop"])
def test_sub_survives_publisher_restarts(io_threads):
    _restart_stream(RESTARTS, io_threads=io_threads)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_sub_survives_100_publisher_restarts():
    st = _restart_stream(100)
    print("\n100 restarts:", st)


SUB_PEER = """
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.SUB)
s.subscribe(b"")
s.connect(sys.argv[1])
print("ready", flush=True)
last = None
for _ in range(50):
    seq = int(s.recv())
    assert last is None or seq == last + 1, (last, seq)
    last = seq
print("got", flush=True)
s.recv()  # then wait to be killed
"""


@pytest.mark.timeout(120)
def test_pub_survives_subscriber_restarts():
    """libzmq subscribers killed and restarted against an edgezmq PUB: each
    gets a gap-free stream, the PUB forgets the dead ones, no fd piles up."""
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    stop = threading.Event()

    def publish():
        seq = 0
        while not stop.is_set():
            pub.send(b"%d" % seq)
            seq += 1
            time.sleep(0.0005)

    t = threading.Thread(target=publish, daemon=True)
    t.start()
    fds = []
    try:
        for _ in range(RESTARTS):
            p = spawn(SUB_PEER, "tcp://127.0.0.1:%d" % port)
            try:
                assert p.stdout.readline().strip() == "got", p.stderr.read()
            finally:
                kill(p)
            assert wait_for(lambda: not pub.engines, 10)
            fds.append(fd_count())
        st = pub.get_stats()
        with ctx.lock:
            pipes_left = len(pub.pattern.pipes)
    finally:
        stop.set()
        t.join(5)
        ctx.destroy(linger=0)
    assert st["connects"] == RESTARTS and st["disconnects"] == RESTARTS, st
    assert max(fds) == min(fds), fds
    assert pipes_left == 0


def _lazy_pirate(ctx, port, request, timeout_ms=700, retries=10, on_timeout=None):
    """The lazy-pirate client: send, poll, and on timeout close, reopen, resend."""
    for attempt in range(retries):
        req = ctx.socket(zmq.REQ)
        req.linger = 0
        req.sndtimeo = 2000
        req.connect("tcp://127.0.0.1:%d" % port)
        try:
            try:
                req.send(request)
            except zmq.Again:
                if on_timeout:
                    on_timeout(attempt)
                continue
            if req.poll(timeout_ms, zmq.POLLIN):
                return req.recv(), attempt
            if on_timeout:
                on_timeout(attempt)
        finally:
            req.close()
        request = request.replace(b"die", b"ok")
    raise AssertionError("no reply after %d attempts" % retries)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("io_threads", [1, 0], ids=["thread", "coop"])
def test_req_recovers_by_lazy_pirate(io_threads):
    port = free_port()
    ctx = zmq.Context(io_threads=io_threads)
    procs = [spawn(REP_PEER, port)]

    def restart(_attempt):
        kill(procs[-1])
        procs.append(spawn(REP_PEER, port))

    try:
        for i in range(RESTARTS):
            # the server dies on this request without replying
            reply, attempts = _lazy_pirate(ctx, port, b"die-%d" % i, on_timeout=restart)
            assert reply == b"re:ok-%d" % i
            assert attempts >= 1
            reply, attempts = _lazy_pirate(ctx, port, b"ok-x%d" % i)
            assert (reply, attempts) == (b"re:ok-x%d" % i, 0)
    finally:
        for p in procs:
            kill(p)
        ctx.destroy(linger=0)
    assert len(procs) == RESTARTS + 1


@pytest.mark.timeout(30)
@pytest.mark.parametrize("io_threads", [1, 0], ids=["thread", "coop"])
def test_message_half_sent_to_dead_peer_never_reaches_another(pz, io_threads):
    """A DEALER sends the first frame to peer A; A dies; the last frame must
    not go to peer B as a message of its own. The lost message is counted."""
    import zmq as pyzmq

    ctx = zmq.Context(io_threads=io_threads)
    try:
        a = pz.socket(pyzmq.ROUTER)
        b = pz.socket(pyzmq.ROUTER)
        pa = a.bind_to_random_port("tcp://127.0.0.1")
        pb = b.bind_to_random_port("tcp://127.0.0.1")
        d = ctx.socket(zmq.DEALER)
        d.reconnect_ivl = -1
        d.connect("tcp://127.0.0.1:%d" % pa)
        assert wait_for(lambda: _pump(ctx) or d.get_stats()["connects"] == 1, 10)
        d.connect("tcp://127.0.0.1:%d" % pb)
        assert wait_for(lambda: _pump(ctx) or d.get_stats()["connects"] == 2, 10)
        d.send(b"head", zmq.SNDMORE)  # round robin: to A, the first peer
        a.close(linger=0)
        assert wait_for(lambda: _pump(ctx) or d.get_stats()["disconnects"] == 1, 10)
        d.send(b"tail")
        d.send_multipart([b"whole-1", b"whole-2"])
        assert b.poll(5000)
        assert b.recv_multipart()[1:] == [b"whole-1", b"whole-2"]
        assert b.poll(200) == 0
        assert d.get_stats()["dropped_disconnect"] == 1
    finally:
        ctx.destroy(linger=0)


@pytest.mark.timeout(30)
def test_peer_joining_mid_message_gets_no_tail(pz):
    """XSUB sends to every peer: one that connects while a message is half
    sent must not receive its tail as a message of its own."""
    import zmq as pyzmq

    ctx = zmq.Context()
    try:
        a = pz.socket(pyzmq.XPUB)
        b = pz.socket(pyzmq.XPUB)
        pa = a.bind_to_random_port("tcp://127.0.0.1")
        pb = b.bind_to_random_port("tcp://127.0.0.1")
        x = ctx.socket(zmq.XSUB)
        x.connect("tcp://127.0.0.1:%d" % pa)
        assert wait_for(lambda: x.get_stats()["connects"] == 1, 10)
        x.send(b"head", zmq.SNDMORE)
        x.connect("tcp://127.0.0.1:%d" % pb)
        assert wait_for(lambda: x.get_stats()["connects"] == 2, 10)
        x.send(b"tail")
        x.send_multipart([b"next-1", b"next-2"])
        assert a.poll(5000)
        assert a.recv_multipart() == [b"head", b"tail"]
        assert a.recv_multipart() == [b"next-1", b"next-2"]
        assert b.poll(5000)
        assert b.recv_multipart() == [b"next-1", b"next-2"]
    finally:
        ctx.destroy(linger=0)


@pytest.mark.timeout(30)
def test_reply_to_departed_requester_is_counted(pz):
    import zmq as pyzmq

    ctx = zmq.Context()
    try:
        rep = ctx.socket(zmq.REP)
        rep.rcvtimeo = 5000
        port = rep.bind_to_random_port("tcp://127.0.0.1")
        req = pz.socket(pyzmq.REQ)
        req.connect("tcp://127.0.0.1:%d" % port)
        req.send(b"question")
        assert rep.recv() == b"question"
        req.close(linger=0)
        assert wait_for(lambda: rep.get_stats()["disconnects"] == 1, 10)
        rep.send(b"answer")  # nobody to take it
        assert rep.get_stats()["dropped_disconnect"] == 1
    finally:
        ctx.destroy(linger=0)


@pytest.mark.timeout(30)
def test_router_message_half_sent_to_departed_peer_is_counted(pz):
    import zmq as pyzmq

    ctx = zmq.Context()
    try:
        router = ctx.socket(zmq.ROUTER)
        router.rcvtimeo = 5000
        port = router.bind_to_random_port("tcp://127.0.0.1")
        d = pz.socket(pyzmq.DEALER)
        d.identity = b"peer"
        d.connect("tcp://127.0.0.1:%d" % port)
        d.send(b"hi")
        assert router.recv_multipart() == [b"peer", b"hi"]
        router.send_multipart([b"peer", b"head"], zmq.SNDMORE)
        d.close(linger=0)
        assert wait_for(lambda: router.get_stats()["disconnects"] == 1, 10)
        router.send(b"tail")
        st = router.get_stats()
        assert st["dropped_disconnect"] == 1 and st["sent"] == 1
    finally:
        ctx.destroy(linger=0)


# -- dead peers: a frozen process, detected by heartbeats ------------------------------
@pytest.mark.parametrize("io_threads", [1, 0], ids=["thread", "coop"])
@pytest.mark.timeout(60)
def test_frozen_peer_detected_by_heartbeat(io_threads):
    port = free_port()
    p = spawn(PULL_PEER, port, 10)
    ctx = zmq.Context(io_threads=io_threads)
    ivl, hb_timeout = 200, 1000
    try:
        push = ctx.socket(zmq.PUSH)
        push.heartbeat_ivl = ivl
        push.heartbeat_timeout = hb_timeout
        push.sndhwm = 0
        push.linger = 0
        push.reconnect_ivl = -1  # keep the accounting to one connection
        mon = push.get_monitor_socket()
        push.connect("tcp://127.0.0.1:%d" % port)
        push.send(b"hello")
        while True:
            ev = recv_event(mon, 5000)
            assert ev is not None, "no handshake"
            if ev[0] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                break
        os.kill(p.pid, signal.SIGSTOP)
        frozen = time.monotonic()
        # more than the kernel buffers can hold: some must stay queued in edgezmq
        big = b"x" * 65536
        n = 400
        for _ in range(n):
            push.send(big)
        detected = None
        while detected is None:
            ev = recv_event(mon, ivl + hb_timeout + 3000)
            assert ev is not None, "the frozen peer was never detected"
            if ev[0] == zmq.EVENT_DISCONNECTED:
                detected = time.monotonic() - frozen
        st = push.get_stats()
        print("\nSIGSTOP detected after %.0f ms; stats %s" % (detected * 1000, st))
        assert detected * 1000 < ivl + hb_timeout + 2000
        assert st["heartbeat_timeouts"] == 1
        assert st["disconnects"] == 1
        assert st["sent"] == n + 1
        # what was never written to the kernel is counted; the rest was in flight
        assert 0 < st["dropped_disconnect"] <= n
        mon.close()
    finally:
        kill(p)
        ctx.destroy(linger=0)


TTL_PUB = """
import sys, time, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUB)
s.heartbeat_ivl = 100
s.heartbeat_ttl = 1000  # tells its peers: drop me after 1 s of silence
port = s.bind_to_random_port("tcp://127.0.0.1")
print(port, flush=True)
print("ready", flush=True)
while True:
    s.send(b"tick")
    time.sleep(0.01)
"""


@pytest.mark.timeout(30)
def test_frozen_publisher_detected_by_its_heartbeat_ttl():
    """The edgezmq SUB sets no heartbeat of its own: the frozen libzmq PUB's
    HEARTBEAT_TTL (sent in its PINGs) is enough to drop it."""
    proc = subprocess.Popen([sys.executable, "-u", "-c", textwrap.dedent(TTL_PUB)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    assert proc.stdout.readline().strip() == "ready"
    ctx = zmq.Context()
    try:
        sub = ctx.socket(zmq.SUB)
        sub.subscribe(b"")
        sub.reconnect_ivl = -1
        mon = sub.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        sub.connect("tcp://127.0.0.1:%d" % port)
        sub.rcvtimeo = 5000
        assert sub.recv() == b"tick"
        time.sleep(0.3)  # a PING or two with the TTL
        os.kill(proc.pid, signal.SIGSTOP)
        frozen = time.monotonic()
        ev = recv_event(mon, 5000)
        assert ev is not None and ev[0] == zmq.EVENT_DISCONNECTED
        took = time.monotonic() - frozen
        print("\nTTL 1000 ms: frozen publisher dropped after %.0f ms" % (took * 1000))
        assert took < 1000 + 2000
        mon.close()
    finally:
        kill(proc)
        ctx.destroy(linger=0)


HB_DEALER = """
import sys, time, zmq, zmq.utils.monitor
ctx = zmq.Context()
d = ctx.socket(zmq.DEALER)
d.heartbeat_ivl = 100
d.heartbeat_timeout = 300
mon = d.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
d.connect(sys.argv[1])
print("ready", flush=True)
ups = downs = 0
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    if mon.poll(50):
        ev = zmq.utils.monitor.recv_monitor_message(mon)["event"]
        ups += ev == zmq.EVENT_HANDSHAKE_SUCCEEDED
        downs += ev == zmq.EVENT_DISCONNECTED
d.send(b"still-here")
print("events", ups, downs, flush=True)
time.sleep(0.5)
"""


@pytest.mark.timeout(30)
def test_idle_socket_answers_libzmq_heartbeats():
    """With the I/O thread, an application that sleeps still answers PINGs:
    a libzmq peer with a 300 ms heartbeat timeout never drops us."""
    ctx = zmq.Context(io_threads=1)
    try:
        router = ctx.socket(zmq.ROUTER)
        port = router.bind_to_random_port("tcp://127.0.0.1")
        p = spawn(HB_DEALER, "tcp://127.0.0.1:%d" % port, 2.0)
        time.sleep(2.5)  # the application does nothing at all
        out, err = p.communicate(timeout=10)
        assert out.split() == ["events", "1", "0"], (out, err)
        assert router.poll(5000)
        assert router.recv_multipart()[1] == b"still-here"
        st = router.get_stats()
        assert st["connects"] == 1 and st["heartbeat_timeouts"] == 0
    finally:
        ctx.destroy(linger=0)


@pytest.mark.timeout(30)
def test_silent_clients_expire_at_handshake_ivl():
    """Raw clients that connect and never greet are closed at HANDSHAKE_IVL
    and counted; their descriptors are released."""
    ctx = zmq.Context()
    try:
        router = ctx.socket(zmq.ROUTER)
        router.handshake_ivl = 300
        port = router.bind_to_random_port("tcp://127.0.0.1")
        time.sleep(0.1)
        fds0 = fd_count()
        raws = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
        assert wait_for(lambda: router.get_stats()["handshake_failures"] == 50, 10), router.get_stats()
        assert wait_for(lambda: not router.engines, 5)
        for r in raws:
            assert r.recv(100) is not None  # edgezmq's greeting, then EOF
            r.close()
        assert fd_count() <= fds0
    finally:
        ctx.destroy(linger=0)


@pytest.mark.timeout(30)
def test_duplicate_identity_refused_and_counted(pz):
    """A second peer claiming a routing id in use is turned away (libzmq's
    default without ROUTER_HANDOVER); the first keeps being served."""
    import zmq as pyzmq

    ctx = zmq.Context()
    try:
        router = ctx.socket(zmq.ROUTER)
        router.rcvtimeo = 5000
        port = router.bind_to_random_port("tcp://127.0.0.1")
        first = pz.socket(pyzmq.DEALER)
        first.identity = b"dup"
        first.connect("tcp://127.0.0.1:%d" % port)
        first.send(b"one")
        assert router.recv_multipart() == [b"dup", b"one"]
        second = pz.socket(pyzmq.DEALER)
        second.identity = b"dup"
        second.reconnect_ivl = 5000
        second.connect("tcp://127.0.0.1:%d" % port)
        assert wait_for(lambda: router.get_stats()["handshake_failures"] >= 1, 10), router.get_stats()
        router.send_multipart([b"dup", b"to-first"])
        assert first.poll(5000)
        assert first.recv() == b"to-first"
        st = router.get_stats()
        assert st["connects"] == 1 and st["disconnects"] == 0, st
    finally:
        ctx.destroy(linger=0)


# -- a hostile network between edgezmq and libzmq -----------------------------------------
@pytest.mark.parametrize("io_threads", [1, 0], ids=["thread", "coop"])
@pytest.mark.timeout(90)
def test_fault_proxy_never_yields_corrupt_or_partial_messages(io_threads):

    from faultproxy import FaultProxy

    port = free_port()
    p = spawn(PUSH_PEER, port, 0.0002)
    proxy = FaultProxy(("127.0.0.1", port), seed=7, p_delay=0.05, p_stall=0.01,
                       p_truncate=0.02, p_reset=0.02, max_stall=0.2).start()
    ctx = zmq.Context(io_threads=io_threads)
    try:
        pull = ctx.socket(zmq.PULL)
        pull.reconnect_ivl = 20
        pull.reconnect_ivl_max = 200
        pull.heartbeat_ivl = 200
        pull.heartbeat_timeout = 600
        pull.rcvtimeo = 10000
        pull.connect("tcp://127.0.0.1:%d" % proxy.port)
        proxy.faults = True
        seqs = []
        count = 0
        end = time.monotonic() + 6
        while time.monotonic() < end or proxy.counts["connections"] < 5:
            assert time.monotonic() < end + 30, "too few reconnections: %s" % proxy.counts
            parts = pull.recv_multipart()
            assert len(parts) == 2, parts[:1]
            seq = int(parts[0])
            assert parts[1] == _push_body(parts[0])
            seqs.append(seq)
            count += 1
        faulty = dict(proxy.counts)
        # calm again: it keeps going
        proxy.faults = False
        for _ in range(200):
            parts = pull.recv_multipart()
            seq = int(parts[0])
            assert len(parts) == 2 and parts[1] == _push_body(parts[0])
            seqs.append(seq)
        st = pull.get_stats()
        print("\nfault proxy: %d messages under faults; injected %s; stats %s" % (count, faulty, st))
        assert faulty["connections"] >= 5
        assert len(set(seqs)) == len(seqs)  # once
        assert order_runs(seqs) <= 3  # in order per connection
        assert faulty["truncations"] + faulty["resets"] >= 3
        assert st["disconnects"] >= 3
    finally:
        proxy.stop()
        kill(p)
        ctx.destroy(linger=0)


def _push_body(seq_b):
    """What PUSH_PEER sends with sequence number seq_b (every 500th: 256 KiB)."""
    import hashlib

    seq = int(seq_b)
    return hashlib.sha256(seq_b).digest() * (1 + seq % 40 + (8000 if seq % 500 == 7 else 0))


ROUTER_ECHO = """
import sys, zmq
ctx = zmq.Context()
r = ctx.socket(zmq.ROUTER)
r.bind("tcp://127.0.0.1:%d" % int(sys.argv[1]))
print("ready", flush=True)
while True:
    r.send_multipart(r.recv_multipart())
"""


@pytest.mark.timeout(90)
def test_fault_proxy_dealer_round_trips():
    """edgezmq sending through the faults: replies are whole, once, in order,
    and every request is either answered or counted lost with its connection."""
    import hashlib

    from faultproxy import FaultProxy

    port = free_port()
    p = spawn(ROUTER_ECHO, port)
    proxy = FaultProxy(("127.0.0.1", port), seed=11, p_truncate=0.03, p_reset=0.03,
                       max_stall=0.2).start()
    ctx = zmq.Context()
    try:
        d = ctx.socket(zmq.DEALER)
        d.reconnect_ivl = 20
        d.reconnect_ivl_max = 200
        d.heartbeat_ivl = 200
        d.heartbeat_timeout = 600
        d.sndtimeo = 2000
        d.connect("tcp://127.0.0.1:%d" % proxy.port)
        proxy.faults = True
        sent = answered = 0
        last = -1  # the highest reply so far
        base = -1  # requests up to here are answered or given up
        replies = []
        end = time.monotonic() + 6
        while True:
            now = time.monotonic()
            if now >= end and proxy.faults:
                proxy.faults = False
                calm_from = sent
            if not proxy.faults and last >= calm_from + 200:
                break
            assert now < end + 30, "no progress after the faults stopped"
            while sent - base < 50:
                body = hashlib.sha256(b"%d" % sent).digest() * (1 + sent % 30)
                try:
                    d.send_multipart([b"%d" % sent, body])
                except zmq.Again:
                    break
                sent += 1
            if d.poll(300):
                parts = d.recv_multipart()
                assert len(parts) == 2, parts[:1]  # never the tail of a message alone
                seq_b, body = parts
                seq = int(seq_b)
                assert body == hashlib.sha256(seq_b).digest() * (1 + seq % 30)
                replies.append(seq)
                last = max(last, seq)
                base = max(base, seq)
                answered += 1
            else:
                base = sent - 1  # the rest of the window died with a connection
        st = d.get_stats()
        print("\nfault proxy, DEALER: %d requests, %d answered; injected %s; stats %s"
              % (sent, answered, proxy.counts, st))
        assert st["sent"] == sent
        assert len(set(replies)) == len(replies)  # once
        assert order_runs(replies) <= 3  # in order per connection
        assert st["disconnects"] >= 3
        assert answered <= sent
    finally:
        proxy.stop()
        kill(p)
        ctx.destroy(linger=0)


# -- slow consumers and floods -----------------------------------------------------------
@pytest.mark.timeout(60)
def test_slow_consumer_queue_bounded_by_rcvhwm():
    port = free_port()
    p = spawn(PUSH_PEER, port, 0)  # as fast as libzmq goes
    ctx = zmq.Context()
    hwm = 100
    try:
        pull = ctx.socket(zmq.PULL)
        pull.rcvhwm = hwm
        pull.rcvtimeo = 10000
        pull.connect("tcp://127.0.0.1:%d" % port)
        pull.recv_multipart()
        time.sleep(0.3)
        rss0 = rss_kb()
        worst = 0
        last = 0
        for i in range(1000):
            seq = int(pull.recv_multipart()[0])
            assert seq == last + 1
            last = seq
            with ctx.lock:
                q = max([pp.inq.msgs for pp in pull.pattern.pipes] or [0])
            worst = max(worst, q)
            if i % 10 == 0:
                time.sleep(0.002)  # a consumer far slower than the producer
        rss1 = rss_kb()
        # at most RCVHWM whole messages plus one read buffer of small ones
        bound = hwm + ctx.port.rx_size // 40 + 1
        print("\nslow consumer: worst queue %d msgs (RCVHWM %d, bound %d); RSS %d -> %d kB"
              % (worst, hwm, bound, rss0, rss1))
        assert worst <= bound
        assert rss1 - rss0 < 20000
    finally:
        kill(p)
        ctx.destroy(linger=0)


@pytest.mark.timeout(60)
def test_pub_drops_and_counts_at_sndhwm_for_slow_subscriber():
    ctx = zmq.Context()
    sub_peer = """
    import sys, time, zmq
    ctx = zmq.Context()
    s = ctx.socket(zmq.SUB)
    s.rcvhwm = 10
    s.rcvbuf = 4096
    s.subscribe(b"")
    s.connect(sys.argv[1])
    print("ready", flush=True)
    n = 0
    while True:
        m = s.recv()
        n += 1
        time.sleep(0.01)
    """
    hwm = 50
    try:
        pub = ctx.socket(zmq.PUB)
        pub.sndhwm = hwm
        port = pub.bind_to_random_port("tcp://127.0.0.1")
        p = spawn(sub_peer, "tcp://127.0.0.1:%d" % port)
        try:
            assert wait_for(lambda: any(pp.subs for pp in pub.pattern.pipes), 10)
            body = b"y" * 1000
            worst_pending = worst_tx = 0
            for i in range(20000):
                pub.send(body)
                if i % 100 == 0:
                    with ctx.lock:
                        for pp in pub.pattern.pipes:
                            worst_pending = max(worst_pending, pp.pending())
                            worst_tx = max(worst_tx, len(pp.conn.tx))
            st = pub.get_stats()
            print("\nPUB at SNDHWM %d: worst pending %d msgs, %d bytes queued; stats %s"
                  % (hwm, worst_pending, worst_tx, st))
            assert worst_pending <= hwm
            assert worst_tx <= hwm * (len(body) + 9) + 64
            assert st["dropped_hwm"] > 0
            assert st["sent"] == 20000
        finally:
            kill(p)
    finally:
        ctx.destroy(linger=0)


FLOOD = """
import socket, sys, time, zmq
port, total, batch = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ctx = zmq.Context()
print("ready", flush=True)
done = 0
while done < total:
    socks = []
    for i in range(batch):
        if i % 5 == 4:  # a raw TCP client that never finishes the greeting
            r = socket.create_connection(("127.0.0.1", port))
            r.sendall(b"\\xff\\x00")
            socks.append(r)
            continue
        d = ctx.socket(zmq.DEALER)
        d.linger = 0
        d.connect("tcp://127.0.0.1:%d" % port)
        d.send(b"flood")
        socks.append(d)
    time.sleep(0.1)  # let most of them connect and send before they go
    for d in socks:
        d.close()
    done += batch
print("done", done, flush=True)
"""


@pytest.mark.timeout(120)
def test_dealer_flood_leaks_no_fds_and_router_still_serves():
    import zmq as pyzmq

    ctx = zmq.Context()
    try:
        router = ctx.socket(zmq.ROUTER)
        port = router.bind_to_random_port("tcp://127.0.0.1")
        time.sleep(0.1)
        fds0 = fd_count()
        p = spawn(FLOOD, port, 1000, 100)
        got = 0
        while p.poll() is None:
            if router.poll(100):
                ident, body = router.recv_multipart()
                assert body == b"flood"
                got += 1
        out, err = p.stdout.read(), p.stderr.read()
        kill(p)
        assert "done 1000" in out, err
        while router.poll(200):
            router.recv_multipart()
            got += 1
        assert wait_for(lambda: not router.engines, 15), len(router.engines)
        fds1 = fd_count()
        st = router.get_stats()
        print("\nflood: fds %d -> %d; %d flood messages; stats %s" % (fds0, fds1, got, st))
        assert fds1 <= fds0
        assert 0 < got <= 800  # 800 DEALERs sent one message each, 200 raw clients none
        assert st["disconnects"] + st["handshake_failures"] >= got
        # a good client is still served
        pctx = pyzmq.Context()
        try:
            d = pctx.socket(pyzmq.DEALER)
            d.linger = 0
            d.connect("tcp://127.0.0.1:%d" % port)
            d.send(b"hello")
            assert router.poll(5000)
            ident, body = router.recv_multipart()
            assert body == b"hello"
            router.send_multipart([ident, b"world"])
            assert d.poll(5000)
            assert d.recv() == b"world"
        finally:
            pctx.destroy(linger=0)
    finally:
        ctx.destroy(linger=0)


# -- clean shutdown ----------------------------------------------------------------------
def _stuffed_push(ctx, port, n=300, size=65536):
    """A PUSH connected to a frozen libzmq PULL, with messages stuck in its queue."""
    push = ctx.socket(zmq.PUSH)
    push.sndhwm = 0
    push.connect("tcp://127.0.0.1:%d" % port)
    push.send(b"first")
    assert wait_for(lambda: push.get_stats()["connects"] == 1, 10)
    return push


@pytest.mark.timeout(60)
@pytest.mark.parametrize("linger", [0, 300, -1])
def test_close_linger_semantics(linger):
    port = free_port()
    p = spawn(PULL_PEER, port)
    ctx = zmq.Context()
    try:
        push = _stuffed_push(ctx, port)
        os.kill(p.pid, signal.SIGSTOP)
        big = b"z" * 65536
        n = 300
        for _ in range(n):
            push.send(big)
        push.send(b"END")
        resume = None
        if linger < 0:
            resume = threading.Timer(1.0, os.kill, (p.pid, signal.SIGCONT))
            resume.start()
        t0 = time.monotonic()
        push.close(linger=linger)
        ctx.term()
        took = time.monotonic() - t0
        st = push.get_stats()
        if linger == 0:
            assert took < 2.0  # generous: term does not wait
            assert st["dropped_linger"] > 0
        elif linger > 0:
            assert took < 5.0
            assert st["dropped_linger"] > 0
        else:
            assert st["dropped_linger"] == 0
            os.kill(p.pid, signal.SIGCONT)
            out, _ = p.communicate(timeout=20)
            assert out.split()[:2] == ["got", str(n + 1)], out
        print("\nlinger %d: term took %.2f s; stats %s" % (linger, took, st))
        if resume:
            resume.join()
    finally:
        kill(p)
        if not ctx.closed:
            ctx.destroy(linger=0)


SEND_AND_EXIT = """
import sys
import edgezmq as zmq
port, n, linger, io = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ctx = zmq.Context(io_threads=io)
s = ctx.socket(zmq.PUSH)
if linger != -2:
    s.linger = linger
s.connect("tcp://127.0.0.1:%d" % port)
for i in range(n):
    s.send(b"%d" % i)
print("ready", flush=True)
sys.exit(0)  # no close, no term: the exit handler flushes per LINGER
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("io_threads", [1, 0], ids=["thread", "coop"])
@pytest.mark.parametrize("linger", [-2, 5000])
def test_process_that_sends_then_exits_delivers(pz, linger, io_threads):
    import zmq as pyzmq

    pull = pz.socket(pyzmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    n = 2000
    p = spawn(SEND_AND_EXIT, port, n, linger, io_threads)
    assert p.wait(30) == 0
    kill(p)
    got = []
    while pull.poll(2000):
        got.append(int(pull.recv()))
        if len(got) == n:
            break
    assert got == list(range(n))


# -- soak --------------------------------------------------------------------------------
ECHO_PEER = """
import sys, zmq
ctx = zmq.Context()
a = ctx.socket(zmq.PULL)
b = ctx.socket(zmq.PUSH)
pa = a.bind_to_random_port("tcp://127.0.0.1")
pb = b.bind_to_random_port("tcp://127.0.0.1")
print(pa, pb, flush=True)
print("ready", flush=True)
zmq.proxy(a, b)
"""


@pytest.mark.soak
@pytest.mark.timeout(int(os.environ.get("EDGEZMQ_SOAK_SECONDS", "600")) + 300)
def test_soak_full_rate_flat_memory():
    seconds = float(os.environ.get("EDGEZMQ_SOAK_SECONDS", "600"))
    proc = subprocess.Popen([sys.executable, "-u", "-c", textwrap.dedent(ECHO_PEER)],
                            stdout=subprocess.PIPE, text=True)
    pa, pb = map(int, proc.stdout.readline().split())
    assert proc.stdout.readline().strip() == "ready"
    ctx = zmq.Context()
    window = 500
    try:
        push = ctx.socket(zmq.PUSH)
        pull = ctx.socket(zmq.PULL)
        push.connect("tcp://127.0.0.1:%d" % pa)
        pull.connect("tcp://127.0.0.1:%d" % pb)
        pull.rcvtimeo = 10000
        start = time.monotonic()
        warm = start + min(60.0, seconds * 0.2)
        sent = recvd = 0
        expect = 0
        rows = []
        base_rss = base_fd = None
        next_sample = start
        payload = b"p" * 200
        while True:
            now = time.monotonic()
            if now - start >= seconds and recvd == sent:
                break
            if now - start < seconds:
                while sent - recvd < window:
                    push.send_multipart([b"%d" % sent, payload])
                    sent += 1
            seq, body = pull.recv_multipart()
            assert int(seq) == expect and body == payload, (seq, expect)
            expect += 1
            recvd += 1
            if now >= next_sample:
                r, f = rss_kb(), fd_count()
                rows.append((now - start, sent, recvd, r, f))
                if now >= warm and base_rss is None:
                    base_rss, base_fd = r, f
                next_sample = now + max(1.0, seconds / 20)
        rows.append((time.monotonic() - start, sent, recvd, rss_kb(), fd_count()))
    finally:
        ctx.destroy(linger=0)
        proc.kill()
        proc.wait()
        proc.stdout.close()
    print("\n%8s %10s %10s %9s %5s" % ("t (s)", "sent", "received", "RSS kB", "fds"))
    for t, s, r, m, f in rows:
        print("%8.1f %10d %10d %9d %5d" % (t, s, r, m, f))
    rate = recvd / max(rows[-1][0], 1e-9)
    print("round trips: %d (%.0f msg/s); every sequence number accounted for" % (recvd, rate))
    assert recvd == sent
    if base_rss is None:
        base_rss, base_fd = rows[0][3], rows[0][4]
    after = [row for row in rows if row[0] >= warm - start]
    peak = max(m for _, _, _, m, _ in after) if after else rows[-1][3]
    print("RSS after warm-up: %d kB -> peak %d kB (%.1f%%)"
          % (base_rss, peak, 100.0 * (peak - base_rss) / base_rss))
    assert peak <= base_rss * 1.05
    assert max(f for *_, f in rows) <= base_fd


@pytest.mark.soak
@pytest.mark.timeout(int(os.environ.get("EDGEZMQ_SOAK_SECONDS", "600")) + 300)
def test_micropython_soak():
    """The device at full rate for EDGEZMQ_SOAK_SECONDS: a MicroPython unix
    port process echoes sequence-numbered messages between two libzmq
    sockets; every number comes back once and in order, and the device's heap
    after gc.collect() stays flat after warm-up. Heap: EDGEZMQ_MP_SOAK_HEAP
    (the 64K target is not met yet: docs/micropython.md)."""
    import shutil
    import tempfile

    import zmq as libzmq  # the host side is real libzmq (this module's zmq is edgezmq)
    from support import ROOT, micropython_binary

    mp = micropython_binary()
    if mp is None:
        pytest.skip("MicroPython unix port not installed")
    from edgezmq.ports.cpython import cmd_bundle

    seconds = float(os.environ.get("EDGEZMQ_SOAK_SECONDS", "600"))
    heap = os.environ.get("EDGEZMQ_MP_SOAK_HEAP", "160K")
    bundle = tempfile.mkdtemp(prefix="edgezmq-mpsoak-")
    tool = cmd_bundle.find_mpy_cross()
    cmd_bundle.build(bundle, mpy=tool is not None)
    script = [os.path.join(ROOT, "tests", "mp_soak.py")]
    if tool is not None:  # compiled: compiling on the device would cost heap
        subprocess.run([tool, "-o", os.path.join(bundle, "mp_soak.mpy"), script[0]], check=True)
        script = ["-m", "mp_soak"]
    ctx = libzmq.Context()
    out = ctx.socket(libzmq.PUSH)
    inp = ctx.socket(libzmq.PULL)
    inp.rcvtimeo = 20000
    p_out = out.bind_to_random_port("tcp://127.0.0.1")
    p_in = inp.bind_to_random_port("tcp://127.0.0.1")
    report_ms = int(max(1000, seconds * 1000 / 30))
    dev = subprocess.Popen([mp, "-X", "heapsize=" + heap] + script + [
                            "tcp://127.0.0.1:%d" % p_out, "tcp://127.0.0.1:%d" % p_in, str(report_ms)],
                           env=dict(os.environ, MICROPYPATH=bundle), stdout=subprocess.PIPE, text=True)
    lines = []
    threading.Thread(target=lambda: lines.extend(iter(dev.stdout.readline, "")), daemon=True).start()
    sent = recvd = 0
    window = 50
    payload = b"p" * 200
    start = time.monotonic()
    try:
        while time.monotonic() - start < seconds:
            while sent - recvd < window:
                out.send_multipart([b"%d" % sent, payload])
                sent += 1
            seq, body = inp.recv_multipart()
            assert int(seq) == recvd and body == payload, (seq, recvd, lines[-5:])
            recvd += 1
        while recvd < sent:
            seq, body = inp.recv_multipart()
            assert int(seq) == recvd
            recvd += 1
        out.send(b"end")
        assert dev.wait(30) == 0
    finally:
        if dev.poll() is None:
            dev.kill()
        ctx.destroy(linger=0)
        shutil.rmtree(bundle, ignore_errors=True)
    heaps = [(int(ln.split()[1]), int(ln.split()[2])) for ln in lines if ln.startswith("HEAP ")]
    assert any(ln.startswith("COUNT %d" % recvd) for ln in lines), lines[-5:]
    elapsed = time.monotonic() - start
    print("\nMicroPython soak (heap %s): %d messages echoed in %.0f s (%.0f msg/s), every sequence number once and in order"
          % (heap, recvd, elapsed, recvd / elapsed))
    print("device heap after gc.collect(), bytes: " + " ".join(str(h) for _, h in heaps))
    after = [h for _, h in heaps[len(heaps) // 5:]]  # after warm-up (the first fifth)
    assert len(after) >= 6, heaps
    # what is in flight when gc runs (RCVHWM 16, a 50-message window) moves the
    # figure by a few KB; a leak would show as a trend: a byte per message is
    # hundreds of KB over a soak
    third = len(after) // 3
    early, late = after[:third], after[-third:]
    drift = sum(late) / len(late) - sum(early) / len(early)
    print("heap after warm-up: %d-%d bytes, drift between the first and last third %+.0f bytes"
          % (min(after), max(after), drift))
    assert max(after) - min(after) <= 8192, after
    assert drift <= 1024, after
