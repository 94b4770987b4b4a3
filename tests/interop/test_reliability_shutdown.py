"""Clean shutdown: close() with each linger, and a process that sends then
exits delivers what it sent."""
import os
import signal
import threading
import time

import edgezmq as zmq
import pytest
from reliability_kit import PULL_PEER, kill, spawn, wait_for
from support import free_port

pytest.importorskip("zmq")


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
