"""A message from another thread wakes a recv or a poll waiting in this one at
once, with and without the I/O thread, as it does in pyzmq: the same program
runs under both and must finish well before its timeouts."""
import threading
import time

import edgezmq
import pytest
import zmq as pyzmq

SLOW = 5000  # ms: a timeout the wake-up must beat by far
DELAY = 0.2  # s: the other thread sends after this


def _later(fn):
    t = threading.Timer(DELAY, fn)
    t.start()
    return t


def _contexts():
    yield "pyzmq", pyzmq, pyzmq.Context()
    yield "thread", edgezmq, edgezmq.Context(io_threads=1)
    yield "cooperative", edgezmq, edgezmq.Context(io_threads=0)


@pytest.fixture(params=["pyzmq", "thread", "cooperative"])
def lib_ctx(request):
    for name, lib, ctx in _contexts():
        if name == request.param:
            yield lib, ctx
            ctx.destroy(linger=0)
        else:
            ctx.term()


def _pair(lib, ctx, name):
    a = ctx.socket(lib.PAIR)
    a.linger = 0
    a.bind("inproc://" + name)
    b = ctx.socket(lib.PAIR)
    b.linger = 0
    b.connect("inproc://" + name)
    return a, b


def test_inproc_recv_is_woken_by_another_thread(lib_ctx):
    lib, ctx = lib_ctx
    a, b = _pair(lib, ctx, "wake-recv")
    a.rcvtimeo = SLOW
    t = _later(lambda: b.send(b"from the other thread"))
    start = time.monotonic()
    assert a.recv() == b"from the other thread"
    took = time.monotonic() - start
    t.join()
    assert took < DELAY + 1.0, "recv waited %.2f s" % took


def test_poll_forever_is_woken_by_another_thread(lib_ctx):
    lib, ctx = lib_ctx
    a, b = _pair(lib, ctx, "wake-poll")
    p = lib.Poller()
    p.register(a, lib.POLLIN)
    t = _later(lambda: b.send(b"x"))
    start = time.monotonic()
    got = dict(p.poll(None))
    took = time.monotonic() - start
    t.join()
    assert got == {a: lib.POLLIN}
    assert took < DELAY + 1.0, "poll waited %.2f s" % took
    assert a.recv() == b"x"


def test_tcp_reply_to_a_thread_waiting_in_recv(lib_ctx):
    """Two threads, one context: a REP answered in a worker thread while the
    main thread is blocked in a REQ's recv."""
    lib, ctx = lib_ctx
    rep = ctx.socket(lib.REP)
    rep.linger = 0
    rep.rcvtimeo = SLOW
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    req = ctx.socket(lib.REQ)
    req.linger = 0
    req.rcvtimeo = SLOW
    req.connect("tcp://127.0.0.1:%d" % port)

    def serve():
        rep.send(rep.recv() + b" back")

    t = threading.Thread(target=serve)
    t.start()
    req.send(b"there and")
    start = time.monotonic()
    assert req.recv() == b"there and back"
    t.join()
    assert time.monotonic() - start < 2.0
