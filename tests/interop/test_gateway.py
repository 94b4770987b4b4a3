"""`edgezmq gateway` (a subprocess) between an edgezmq CPython "device" on one
end of a pty cable and pyzmq peers on TCP: listening, dialling, both at once,
more desktop peers than the device accepts, statistics at exit.
The MicroPython device runs the same scenarios in hw-tests/."""
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import edgezmq as ez
import pytest
from ptyrelay import PtyCable
from support import PROCESS_TIMEOUT, ROOT, free_port

zmq = pytest.importorskip("zmq")
pytest.importorskip("serial")

T = int(PROCESS_TIMEOUT * 1000)  # ms: the gateway is another process


class Gw:
    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, "-m", "edgezmq", "gateway", *args], cwd=ROOT,
                                     stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.lines = []
        self.q = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for ln in self.proc.stderr:
            self.lines.append(ln.rstrip())
            self.q.put(ln)
        self.q.put(None)

    def expect(self, text, timeout=T / 1000):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                ln = self.q.get(timeout=0.1)
            except queue.Empty:
                continue
            if ln is None:
                break
            if text in ln:
                return ln
        raise AssertionError("gateway: no %r:\n%s" % (text, "\n".join(self.lines)))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def rig():
    cable = PtyCable(seed=5).start()
    ctx = ez.Context()
    pz = zmq.Context()
    gws = []

    def gateway(*args):
        g = Gw("serial://%s?baud=115200" % cable.b_path, *args)
        gws.append(g)
        return g

    yield cable, ctx, pz, gateway
    for g in gws:
        g.stop()
    pz.destroy(linger=0)
    ctx.destroy(linger=0)
    cable.stop()


def _s(ctx, kind):
    s = ctx.socket(kind)
    s.rcvtimeo = T
    s.sndtimeo = T
    s.linger = 0
    return s


def test_listen_several_desktop_peers_and_stats_at_exit(rig):
    cable, ctx, pz, gateway = rig
    rep = _s(ctx, ez.ROUTER)
    rep.bind("serial://%s?max_channels=3" % cable.a_path)
    port = free_port()
    g = gateway("tcp://127.0.0.1:%d" % port, "--stats", "0")
    g.expect("link up")
    reqs = []
    for i in range(3):
        r = _s(pz, zmq.DEALER)
        r.identity = b"peer%d" % i
        r.connect("tcp://127.0.0.1:%d" % port)
        reqs.append(r)
    for i, r in enumerate(reqs):
        r.send(b"hello from %d" % i)
    got = sorted(tuple(rep.recv_multipart()) for _ in reqs)
    assert got == [(b"peer%d" % i, b"hello from %d" % i) for i in range(3)]
    for i in range(3):
        rep.send_multipart([b"peer%d" % i, b"hi %d" % i])
    assert [r.recv() for r in reqs] == [b"hi %d" % i for i in range(3)]
    # a fourth peer is beyond the device's max_channels: refused, the others go on
    extra = _s(pz, zmq.DEALER)
    extra.connect("tcp://127.0.0.1:%d" % port)
    extra.send(b"four")
    time.sleep(0.5)
    reqs[0].send(b"still here")
    assert rep.recv_multipart() == [b"peer0", b"still here"]
    g.stop()
    final = [ln for ln in g.lines if "final stats" in ln]
    assert final and "frames_tx=" in final[0] and "crc_errors=0" in final[0] and "resets=0" in final[0]
    assert "tcp_accepted=" in final[0]


def test_connect_mode_dials_for_each_device_channel(rig):
    cable, ctx, pz, gateway = rig
    port = free_port()
    pull = _s(pz, zmq.PULL)
    pull.bind("tcp://127.0.0.1:%d" % port)
    g = gateway("tcp://127.0.0.1:%d" % port, "--connect")
    pushes = []
    for _ in range(2):  # two device sockets: two channels, two TCP connections
        p = _s(ctx, ez.PUSH)
        p.connect("serial://%s" % cable.a_path)
        pushes.append(p)
    g.expect("link up")
    for i, p in enumerate(pushes):
        for k in range(5):
            p.send(b"dev%d-%d" % (i, k))
    got = sorted(pull.recv() for _ in range(10))
    assert got == sorted(b"dev%d-%d" % (i, k) for i in range(2) for k in range(5))


def test_listen_and_dial_at_once(rig):
    """Desktops connect in, and the device connects out, over one link."""
    cable, ctx, pz, gateway = rig
    lport, dport = free_port(), free_port()
    rep_pz = _s(pz, zmq.REP)
    rep_pz.bind("tcp://127.0.0.1:%d" % dport)
    dev_rep = _s(ctx, ez.REP)
    dev_rep.bind("serial://%s" % cable.a_path)
    dev_req = _s(ctx, ez.REQ)
    dev_req.connect("serial://%s" % cable.a_path)
    g = gateway("--listen", "tcp://127.0.0.1:%d" % lport, "--dial", "tcp://127.0.0.1:%d" % dport)
    g.expect("link up")
    req_pz = _s(pz, zmq.REQ)
    req_pz.connect("tcp://127.0.0.1:%d" % lport)
    req_pz.send(b"desktop asks")
    assert dev_rep.recv() == b"desktop asks"
    dev_rep.send(b"device answers")
    assert req_pz.recv() == b"device answers"
    dev_req.send(b"device asks")
    assert rep_pz.recv() == b"device asks"
    rep_pz.send(b"desktop answers")
    assert dev_req.recv() == b"desktop answers"


def test_big_messages_both_ways_fill_the_channel_rings(rig):
    """Messages far bigger than the channel's 1 KB rings, echoed by the device:
    the gateway stops reading TCP while the channel is full and goes on when
    the device acknowledges; every byte arrives, in order, both ways."""
    cable, ctx, pz, gateway = rig
    echo = _s(ctx, ez.ROUTER)
    echo.bind("serial://%s" % cable.a_path)
    port = free_port()
    g = gateway("tcp://127.0.0.1:%d" % port, "--stats", "0")
    g.expect("link up")
    d = _s(pz, zmq.DEALER)
    d.connect("tcp://127.0.0.1:%d" % port)
    msgs = [bytes([i]) * 1000 + bytes(range(256)) * (i * 40 + 60) for i in range(4)]
    for m in msgs:
        d.send(m)
    for _ in msgs:
        echo.send_multipart(echo.recv_multipart())
    assert [d.recv() for _ in msgs] == msgs
    g.stop()
    final = [ln for ln in g.lines if "final stats" in ln][0]
    total = sum(len(m) for m in msgs)
    assert "tcp_bytes_in=" in final and int(final.split("tcp_bytes_in=")[1].split()[0]) > total


def test_refuses_tcp_while_the_device_is_missing_then_relays(rig, tmp_path):
    """A device that is not there yet: the gateway retries, closes the TCP
    connections it cannot give a channel, and relays once the device appears."""
    cable, ctx, pz, _ = rig
    path = tmp_path / "ttyLATER"
    port = free_port()
    g = Gw("serial://%s" % path, "tcp://127.0.0.1:%d" % port, "--stats", "0")
    try:
        g.expect("cannot open")
        raw = socket.create_connection(("127.0.0.1", port), timeout=T / 1000)
        assert raw.recv(64) == b""  # closed at once: no link, no channel
        raw.close()
        pull = _s(ctx, ez.PULL)
        pull.bind("serial://%s" % cable.a_path)
        path.symlink_to(cable.b_path)
        g.expect("device opened")
        g.expect("link up")
        push = _s(pz, zmq.PUSH)
        push.connect("tcp://127.0.0.1:%d" % port)
        push.send(b"after the wait")
        assert pull.recv() == b"after the wait"
    finally:
        g.stop()


def test_bad_arguments():
    r = subprocess.run([sys.executable, "-m", "edgezmq", "gateway", "tcp://x:1", "tcp://*:5"], cwd=ROOT,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "serial" in r.stderr
    r = subprocess.run([sys.executable, "-m", "edgezmq", "gateway", "serial:///dev/null"], cwd=ROOT,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
