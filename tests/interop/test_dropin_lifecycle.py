"""pyzmq's lifecycle, as a program sees it: term() with sockets open,
destroy(), `with Context()`, a dropped Context, copies (shadows) of sockets
and contexts, message trackers, and `with sock.bind(url)` / `with
sock.connect(url)` on every transport. Each snippet runs under pyzmq and
under edgezmq (with its I/O thread and without) and the outcomes must match."""
import copy
import errno
import gc
import os
import tempfile
import threading
import time
import warnings

import edgezmq
import pytest

zmq = pytest.importorskip("zmq")

# (name, module, Context factory): pyzmq, and edgezmq in both context modes
FLAVOURS = [
    ("pyzmq", zmq, zmq.Context),
    ("thread", edgezmq, lambda: edgezmq.Context(io_threads=1)),
    ("cooperative", edgezmq, lambda: edgezmq.Context(io_threads=0)),
]


def each(snippet):
    """snippet(lib, make_ctx) under every flavour -> {name: result}."""
    return {name: snippet(lib, make) for name, lib, make in FLAVOURS}


def same(results):
    """The result every flavour gave (they must agree)."""
    pz = results["pyzmq"]
    for name, r in results.items():
        assert r == pz, "%s differs from pyzmq:\n%r\n%r" % (name, r, pz)
    return pz


def outcome(f):
    """What calling f does: ("ok", value) or (exception class name, errno)."""
    try:
        return ("ok", f())
    except Exception as e:  # noqa: BLE001 - the exception is the observation
        return (type(e).__name__, getattr(e, "errno", None))


def eventually(pred, within=5.0):
    """pred() became true within the time (finalizers and I/O threads run in their own time)."""
    end = time.monotonic() + within
    while not pred():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


# -- term() --------------------------------------------------------------------------------
DROPPED = """
import sys, warnings
warnings.simplefilter("ignore")
zmq = __import__(sys.argv[1])
ctx = zmq.Context(io_threads=int(sys.argv[2]))
def work():
    s = ctx.socket(zmq.PUSH)
    s.connect("tcp://127.0.0.1:9")
work()  # the socket is dropped, never closed
ctx.term()
print("TERM-RETURNED")
"""


@pytest.mark.parametrize("lib,io", [("zmq", 1), ("edgezmq", 1), ("edgezmq", 0)])
def test_term_returns_in_a_program_that_dropped_a_socket(lib, io):
    """pyzmq closes a dropped socket when it is collected, so term() returns;
    edgezmq's connections keep the socket alive, and with no other thread
    left to close it term() closes it (with a ResourceWarning) rather than
    wait for ever."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", DROPPED, lib, str(io)], capture_output=True, text=True, timeout=60)
    assert "TERM-RETURNED" in r.stdout, r.stdout + r.stderr


def test_term_waits_until_every_socket_is_closed():
    """pyzmq's test_term_noclose, and what a socket does meanwhile: every
    call but close() raises ContextTerminated, a new socket ETERM; once the
    last socket is closed term() returns, and the context is closed (ENOTSUP)."""

    def snippet(lib, make):
        ctx = make()
        s = ctx.socket(lib.PUSH)
        s.bind("tcp://127.0.0.1:0")
        t = threading.Thread(target=ctx.term, daemon=True)
        t.start()
        t.join(0.3)
        waiting = (t.is_alive(), ctx.closed)
        calls = [outcome(f) for f in (
            lambda: s.send(b"x"), lambda: s.send(b"x", lib.NOBLOCK), lambda: s.linger,
            lambda: s.setsockopt(lib.LINGER, 0), lambda: s.poll(0), lambda: s.bind("tcp://127.0.0.1:0"),
            lambda: ctx.socket(lib.PUB),
        )]
        s.close()
        t.join(5)
        return waiting, calls, t.is_alive(), ctx.closed, s.closed, outcome(lambda: ctx.socket(lib.PUB))

    waiting, calls, alive, closed, s_closed, after = same(each(snippet))
    assert waiting == (True, False) and not alive and closed and s_closed
    assert [c[0] for c in calls] == ["ContextTerminated"] * 6 + ["ZMQError"]
    assert calls[-1][1] == zmq.ETERM and after == ("ZMQError", zmq.ENOTSUP)


def test_term_wakes_blocked_calls_which_then_close():
    """pyzmq's test_term_thread: a recv, and a Poller.poll, blocked in other
    threads raise ContextTerminated (ETERM) when term() starts; the threads
    close their sockets and term() returns."""

    def snippet(lib, make):
        ctx = make()
        ready = threading.Barrier(3)
        got = {}

        def recv_side():
            s = ctx.socket(lib.REP)
            s.bind_to_random_port("tcp://127.0.0.1")
            ready.wait()
            got["recv"] = outcome(s.recv)
            s.close()

        def poll_side():
            s = ctx.socket(lib.PULL)
            s.bind("inproc://term-poll")
            p = lib.Poller()
            p.register(s, lib.POLLIN)
            ready.wait()
            got["poll"] = outcome(lambda: p.poll())
            s.close()

        threads = [threading.Thread(target=f, daemon=True) for f in (recv_side, poll_side)]
        for t in threads:
            t.start()
        ready.wait()
        time.sleep(0.05)  # both are blocked by now (a later start blocks as well: ETERM either way)
        ctx.term()
        for t in threads:
            t.join(5)
        return sorted(got.items()), [t.is_alive() for t in threads], ctx.closed

    got, alive, closed = same(each(snippet))
    assert got == [("poll", ("ContextTerminated", zmq.ETERM)), ("recv", ("ContextTerminated", zmq.ETERM))]
    assert alive == [False, False] and closed


def test_term_delivers_what_closed_sockets_left_queued():
    """term() after close(): the LINGER of the closed socket still applies,
    so what it queued reaches the peer (libzmq peer, its own context)."""
    peer_ctx = zmq.Context()
    pull = peer_ctx.socket(zmq.PULL)
    pull.rcvtimeo = 5000
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    try:
        def snippet(lib, make):
            ctx = make()
            push = ctx.socket(lib.PUSH)
            push.connect("tcp://127.0.0.1:%d" % port)
            for i in range(20):
                push.send(b"m%d" % i)
            push.close()  # LINGER -1: everything goes out before term() returns
            ctx.term()
            return [pull.recv() for _ in range(20)]

        assert same(each(snippet)) == [b"m%d" % i for i in range(20)]
    finally:
        pull.close(0)
        peer_ctx.term()


# -- destroy(), with, garbage collection -------------------------------------------------
def _warned(record):
    return sorted({(w.category.__name__, " ".join(str(w.message).split()[:3])) for w in record})


def test_destroy_closes_open_sockets_without_warning():
    def snippet(lib, make):
        ctx = make()
        socks = [ctx.socket(lib.REP) for _ in range(5)]
        socks[0].close()
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            ctx.destroy(linger=0)
        return [s.closed for s in socks], ctx.closed, _warned(w)

    assert same(each(snippet)) == ([True] * 5, True, [])


def test_with_context_destroys_and_warns_for_each_open_socket():
    """pyzmq 27's __exit__ is destroy(): the sockets left open are closed,
    each with a ResourceWarning (pyzmq's test_context_manager)."""

    def snippet(lib, make):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            with make() as ctx:
                a = ctx.socket(lib.PUSH)
                b = ctx.socket(lib.PULL)
                b.close()
        return a.closed, ctx.closed, [(x.category.__name__, str(x.message).split(" <")[0]) for x in w]

    assert same(each(snippet)) == (True, True, [("ResourceWarning", "Destroying context with unclosed socket")])


def test_dropped_context_warns_and_releases_its_socket():
    """A Context (and socket) the program drops: ResourceWarnings name the
    unclosed socket, and the bound port is free again."""

    def snippet(lib, make):
        probe = make()
        s = probe.socket(lib.PULL)
        port = s.bind_to_random_port("tcp://127.0.0.1")
        s.close()
        probe.term()
        url = "tcp://127.0.0.1:%d" % port
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")

            def work():
                ctx = make()
                ctx.socket(lib.PULL).bind(url)

            work()
            gc.collect()
        ctx = make()
        again = ctx.socket(lib.PULL)
        freed = eventually(lambda: outcome(lambda: again.bind(url))[0] == "ok")
        again.close()
        ctx.term()
        return freed, ("ResourceWarning", "Unclosed socket") in [
            (x.category.__name__, " ".join(str(x.message).split()[:2])) for x in w]

    assert same(each(snippet)) == (True, True)


# -- copies and shadows ----------------------------------------------------------------------
def test_copy_of_a_socket_is_a_shadow_of_it():
    """pyzmq's test_copy and test_shadow: copy.copy, copy.deepcopy,
    Socket(sock), Socket.shadow(sock or sock.underlying) are the same socket
    under another object; the shadow does what the original does, and
    dropping it closes nothing."""

    def snippet(lib, make):
        ctx = make()
        s = ctx.socket(lib.PUSH)
        shadows = [copy.copy(s), copy.deepcopy(s), lib.Socket(s), lib.Socket.shadow(s),
                   lib.Socket.shadow(s.underlying)]
        r = [[x._shadow, x.underlying == s.underlying, type(x) is type(s)] for x in shadows]
        r.append([s._shadow, shadows[2]._shadow_obj is s, shadows[2].context is s.context])
        port = shadows[0].bind_to_random_port("tcp://127.0.0.1")  # through the shadow
        pull = ctx.socket(lib.PULL)
        pull.rcvtimeo = 5000
        pull.connect("tcp://127.0.0.1:%d" % port)
        shadows[1].send(b"via shadow")
        r.append(pull.recv())
        r.append(s.last_endpoint == shadows[3].last_endpoint)
        del shadows
        gc.collect()
        r.append(s.closed)
        s.send(b"still open")
        r.append(pull.recv())
        for x in (s, pull):
            x.close(0)
        ctx.term()
        return r

    r = same(each(snippet))
    assert r[:5] == [[True, True, True]] * 5 and r[5] == [False, True, True]
    assert r[6:] == [b"via shadow", True, False, b"still open"]


def test_copy_of_a_context_is_a_shadow_of_it():
    """pyzmq's test_copy (Context) and test_shadow: the shadows share the
    context; a dropped shadow terminates nothing; after term() a shadow
    cannot make sockets (EFAULT)."""

    def snippet(lib, make):
        ctx = make()
        shadows = [copy.copy(ctx), copy.deepcopy(ctx), lib.Context(ctx), lib.Context.shadow(ctx),
                   lib.Context.shadow(ctx.underlying)]
        r = [[c._shadow, c.underlying == ctx.underlying] for c in shadows]
        r.append(ctx._shadow)
        with shadows[2].socket(lib.PUB) as s2:
            pass
        r.append(s2.closed)
        keep = shadows[4]
        del shadows
        gc.collect()
        r.append(ctx.closed)
        s = ctx.socket(lib.PUB)
        s.close()
        ctx.term()
        r.append(outcome(lambda: keep.socket(lib.PUB)))
        return r

    r = same(each(snippet))
    assert r == [[True, True]] * 5 + [False, True, False, ("ZMQError", zmq.EFAULT)]


# -- trackers ------------------------------------------------------------------------------------
def test_frame_trackers():
    """pyzmq's test_message tracker tests: a Frame made with copy=False,
    track=True is tracked until it (and every copy) is gone; one that copied
    its data is done at once; MessageTracker refuses untracked frames."""

    def snippet(lib, make):
        m = lib.Frame(b"asdf", copy=False, track=True)
        m2 = lib.Frame(b"whoda", copy=False, track=True)
        mt = lib.MessageTracker(m, m2)
        r = [m.tracker.done, mt.done, outcome(lambda: mt.wait(0.05))[0]]
        c = copy.copy(m)
        del m
        gc.collect()
        r.append(mt.done)  # the copy holds it
        del c, m2
        gc.collect()
        r.append(eventually(lambda: mt.done))
        r.append(outcome(lambda: mt.wait(0.1)))
        held = [lib.Frame(b"x", track=True), lib.Frame(b"x", copy=True, track=True),
                lib.Frame(b"x" * 70000, track=True), lib.Frame(b"x")]
        r.append([f.tracker.done for f in held[:3]] + [held[3].tracker])
        u = lib.Frame(b"u")
        r.append([outcome(lambda: lib.MessageTracker(u))[0], outcome(lambda: lib.MessageTracker(5))[0]])
        return r

    assert same(each(snippet)) == [
        False, False, "NotDone", False, True, ("ok", None), [True, True, False, None], ["ValueError", "TypeError"],
    ]


def test_send_returns_trackers_as_pyzmq():
    """send(copy=False) returns a MessageTracker (pyzmq's finished one below
    copy_threshold); a tracked Frame's own tracker, which is done once the
    frame is gone; None for copying sends; ValueError for track=True and an
    untracked Frame."""

    def snippet(lib, make):
        ctx = make()
        a, b = ctx.socket(lib.PUSH), ctx.socket(lib.PULL)
        b.rcvtimeo = 5000
        port = b.bind_to_random_port("tcp://127.0.0.1")
        a.connect("tcp://127.0.0.1:%d" % port)
        p1 = a.send(b"something", copy=False, track=True)
        r = [p1 is lib._FINISHED_TRACKER, p1.done, type(a.send(b"y", copy=False)).__name__,
             a.send(b"y" * 70000, copy=False), a.send(b"z"), a.copy_threshold]
        f = lib.Frame(b"again", copy=False, track=True)
        t1, t2 = a.send(f, copy=False), a.send(f, copy=False)
        r.append([t1 is f.tracker, t2 is f.tracker, t1.done])
        r.append([len(b.recv()) for _ in range(6)])
        r.append(t1.done)  # sent, and still held by the program
        del f
        gc.collect()
        r.append(eventually(lambda: t1.done))
        r.append(outcome(lambda: a.send(lib.Frame(b"u"), copy=False, track=True))[0])
        r.append(type(a.send_multipart([b"x", b"y"], copy=False, track=True)).__name__)
        a.close(0)
        b.close(0)
        ctx.term()
        return r

    assert same(each(snippet)) == [
        True, True, "MessageTracker", None, None, 65536, [True, True, False], [9, 1, 70000, 1, 5, 5],
        False, True, "ValueError", "MessageTracker",
    ]


# -- with sock.bind(url): / with sock.connect(url): on every transport --------------------------
@pytest.fixture(scope="module")
def ipc_dir():
    d = tempfile.mkdtemp(prefix="ezq-cm-")
    yield d
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    os.rmdir(d)


@pytest.mark.parametrize("transport", ["inproc", "tcp", "ipc"])
def test_connect_and_bind_context_managers(transport, ipc_dir):
    """pyzmq's test_connectbind_context_managers on each transport: the end
    of `with b.connect(url):` disconnects (nothing sent later reaches b, a
    second disconnect is ENOENT), the end of `with a.bind(url):` unbinds (a
    new connect reaches nothing)."""
    url = {"inproc": "inproc://cm-%s", "tcp": "tcp://127.0.0.1:0", "ipc": "ipc://" + ipc_dir + "/%s.sock"}[transport]

    def snippet(lib, make):
        r = []
        with make() as ctx:
            with ctx.socket(lib.PUSH) as a, ctx.socket(lib.PULL) as b:
                a.linger = b.linger = 0
                b.rcvtimeo = 5000
                a.bind(url.replace("%s", "c"))
                ep = a.last_endpoint.decode()
                cm = b.connect(ep)
                r.append(repr(cm) == "<SocketContext(connect=%r)>" % ep)
                with cm as inner:
                    r.append(inner is b)
                    a.send(b"hi")
                    r.append(b.recv())
                outcome(lambda: a.send(b"late", lib.DONTWAIT))  # queued for a peer gone, or Again
                r.append(b.poll(300))
                r.append(outcome(lambda: b.disconnect(ep)))
            with ctx.socket(lib.PUSH) as a, ctx.socket(lib.PULL) as b:
                a.linger = b.linger = 0
                b.rcvtimeo = 5000
                cm = a.bind(url.replace("%s", "b"))
                ep = a.last_endpoint.decode()  # the port a tcp://...:0 bind got
                r.append(repr(cm) == "<SocketContext(bind=%r)>" % ep)
                with cm:
                    b.connect(ep)
                    a.send(b"hi")
                    r.append(b.recv())
                    b.disconnect(ep)
                b.connect(ep)
                r.append(eventually(lambda: outcome(lambda: a.send(b"x", lib.DONTWAIT))[0] == "Again"))
                r.append(outcome(lambda: a.unbind(ep)))
        return r

    assert same(each(snippet)) == [True, True, b"hi", 0, ("ZMQError", errno.ENOENT), True, b"hi", True,
                                   ("ZMQError", errno.ENOENT)]


def test_inproc_disconnect_before_the_bind_still_delivers_what_was_queued():
    """A connect queued before the bind (IMMEDIATE=0), then undone: as in
    libzmq, the later binder still gets what was queued (the pipe ends after
    it), and the disconnected socket has no peer to send to."""

    def snippet(lib, make):
        ctx = make()
        a = ctx.socket(lib.PUSH)
        a.linger = 0
        with a.connect("inproc://later"):
            a.send(b"queued")
        r = [outcome(lambda: a.send(b"x", lib.DONTWAIT))[0]]
        b = ctx.socket(lib.PULL)
        b.rcvtimeo = 5000
        b.bind("inproc://later")
        r += [b.recv(), b.poll(300), outcome(lambda: a.send(b"x", lib.DONTWAIT))[0]]
        r.append(outcome(lambda: a.disconnect("inproc://later")))
        a.close()
        b.close()
        ctx.term()
        return r

    assert same(each(snippet)) == ["Again", b"queued", 0, "Again", ("ZMQError", errno.ENOENT)]


def test_serial_bind_and_connect_context_managers():
    """serial:// (edgezmq only: libzmq has no serial transport): the end of
    the block releases the device for the next bind or connect."""
    pytest.importorskip("serial")
    from ptyrelay import PtyCable

    cable = PtyCable(seed=3).start()
    ctx = edgezmq.Context(io_threads=0)
    try:
        ep_a = "serial://%s?baud=115200" % cable.a_path
        ep_b = "serial://%s?baud=115200" % cable.b_path
        s = ctx.socket(edgezmq.PULL)
        with s.bind(ep_a) as same_sock:
            assert same_sock is s and cable.a_path in ctx.serial_links
        assert cable.a_path not in ctx.serial_links
        with s.connect(ep_b):
            assert cable.b_path in ctx.serial_links
        assert cable.b_path not in ctx.serial_links
        other = ctx.socket(edgezmq.PULL)
        with other.bind(ep_a):  # free again
            pass
    finally:
        ctx.destroy(linger=0)
        cable.stop()
