"""Unchanged pyzmq programs (zguide examples in tests/interop/programs/, each saying
`import zmq`) run on edgezmq, in both context modes, against the same
programs running on pyzmq (real libzmq) in other processes."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("zmq")

PROGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")
TIMEOUT = 20


class Prog:
    def __init__(self, lib, mode, name, *args, stdin=False):
        self.name = name
        self.p = subprocess.Popen(
            [sys.executable, os.path.join(PROGS, "run_with.py"), lib, mode, os.path.join(PROGS, name + ".py")]
            + [str(a) for a in args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def line(self):
        s = self.p.stdout.readline()
        assert s, "%s exited: %s" % (self.name, self.p.stderr.read() if self.p.poll() is not None else "")
        return s.strip()

    def bound(self):
        words = self.line().split()
        assert words[0] == "BOUND", words
        return words[1:]

    def finish(self):
        try:
            out, err = self.p.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            out, err = self.p.communicate()
            pytest.fail("%s hung; stderr: %s" % (self.name, err))
        assert self.p.returncode == 0, "%s failed: %s" % (self.name, err)
        return out.splitlines()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.communicate()


@pytest.fixture
def procs():
    started = []
    yield started
    for p in started:
        p.kill()


def start(procs, *a, **kw):
    p = Prog(*a, **kw)
    procs.append(p)
    return p


MODES = ["thread", "cooperative"]
SIDES = [("edgezmq", "pyzmq"), ("pyzmq", "edgezmq"), ("edgezmq", "edgezmq")]
side_ids = ["%s-%s" % s for s in SIDES]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("server, client", SIDES, ids=side_ids)
def test_hello_world(server, client, mode, procs):
    s = start(procs, server, mode, "hwserver", "tcp://127.0.0.1:*", 10)
    (ep,) = s.bound()
    c = start(procs, client, mode, "hwclient", ep, 10)
    assert c.finish() == ["Received reply World Hello %d" % i for i in range(10)]
    s.finish()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("server, client", SIDES, ids=side_ids)
def test_weather_feed(server, client, mode, procs):
    s = start(procs, server, mode, "wuserver", "tcp://127.0.0.1:*")
    (ep,) = s.bound()
    c1 = start(procs, client, mode, "wuclient", ep, "10001")
    c2 = start(procs, client, mode, "wuclient", ep, "10007")
    assert c1.finish()[0].startswith("AVG 10001 ")
    assert c2.finish()[0].startswith("AVG 10007 ")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("libs", [("edgezmq", "pyzmq", "edgezmq"), ("pyzmq", "edgezmq", "pyzmq")], ids=["ez-pz-ez", "pz-ez-pz"])
def test_ventilator_workers_sink(libs, mode, procs):
    vent_lib, work_lib, sink_lib = libs
    sink = start(procs, sink_lib, mode, "tasksink", "tcp://127.0.0.1:*")
    (sink_ep,) = sink.bound()
    vent = start(procs, vent_lib, mode, "taskvent", "tcp://127.0.0.1:*", sink_ep, stdin=True)
    (vent_ep,) = vent.bound()
    for lib in (work_lib, work_lib, vent_lib):
        start(procs, lib, mode, "taskwork", vent_ep, sink_ep)
    vent.p.stdin.write("\n")
    vent.p.stdin.flush()
    total = sum(i % 7 + 1 for i in range(100))
    assert vent.finish() == ["TOTAL %d" % total]
    assert sink.finish() == ["TOTAL %d" % total]


@pytest.mark.parametrize("mode", MODES)
def test_broker_with_proxy(mode, procs):
    broker = start(procs, "edgezmq", mode, "msgqueue", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*")
    front, back = broker.bound()
    start(procs, "pyzmq", mode, "rrworker", back, "pz")
    start(procs, "edgezmq", mode, "rrworker", back, "ez")
    c1 = start(procs, "pyzmq", mode, "rrclient", front, 10)
    c2 = start(procs, "edgezmq", mode, "rrclient", front, 10)
    for c in (c1, c2):
        out = c.finish()
        assert [o.split(" from ")[0] for o in out] == ["World Hello %d" % i for i in range(10)]
        assert {o.split(" from ")[1] for o in out} <= {"pz", "ez"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("server", ["pyzmq", "edgezmq"])
def test_lazy_pirate(server, mode, procs, tmp_path):
    ep = "ipc://%s/lp.ipc" % tmp_path
    s = start(procs, server, mode, "lpserver", ep)
    s.bound()
    out = start(procs, "edgezmq", mode, "lpclient", ep, 7).finish()
    oks = [o for o in out if o.startswith("OK")]
    assert oks == ["OK %d" % i for i in range(1, 8)]
    # the server drops every 3rd request it sees (retries included): 3, 5, 7
    assert [o for o in out if o.startswith("RETRY")] == ["RETRY 3", "RETRY 5", "RETRY 7"]


@pytest.mark.parametrize("size", [0, 200000])
@pytest.mark.parametrize("mode", MODES)
def test_linger_delivers_after_exit(mode, size):
    import zmq

    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    try:
        p = Prog("edgezmq", mode, "pushexit", "tcp://127.0.0.1:%d" % port, size)
        assert p.finish() == ["SENT"]
        got = []
        while pull.poll(2000):
            got.append(pull.recv())
            if len(got) == 100:
                break
        assert got == [b"msg %d" % i + b"x" * size for i in range(100)]
    finally:
        pull.close()
        ctx.term()
