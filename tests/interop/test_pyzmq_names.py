"""pyzmq's names and errors: each test runs the same snippet with pyzmq and
with edgezmq (the module is the argument) and compares what they do."""
import importlib
import socket
import struct
import sys
import time

import edgezmq
import pytest

zmq = pytest.importorskip("zmq")
LIBS = [zmq, edgezmq]


def both(fn):
    """fn(lib) under pyzmq and edgezmq -> (pyzmq's result, edgezmq's)."""
    return fn(zmq), fn(edgezmq)


def outcome(f):
    """What calling f does: ("ok", value) or (exception class name, errno)."""
    try:
        return ("ok", f())
    except Exception as e:  # noqa: BLE001 - the exception is the observation
        return (type(e).__name__, getattr(e, "errno", None))


def bind_soon(lib, sock, url, within=5.0):
    """Bind once the address is free: libzmq unbinds on its I/O thread, a
    moment after unbind() returns."""
    deadline = time.monotonic() + within
    while True:
        try:
            return sock.bind(url)
        except lib.ZMQError as e:
            if e.errno != lib.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@pytest.fixture
def ctxs():
    made = []

    def make(lib, **kw):
        c = lib.Context(**kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.destroy(linger=0)


# -- modules pyzmq programs import ----------------------------------------------
def test_utils_z85_monitor_jsonapi():
    def snippet(lib):
        z85 = importlib.import_module(lib.__name__ + ".utils.z85")
        monitor = importlib.import_module(lib.__name__ + ".utils.monitor")
        jsonapi = importlib.import_module(lib.__name__ + ".utils.jsonapi")
        ev = monitor.parse_monitor_message([struct.pack("<hi", 0x20, 7), b"tcp://127.0.0.1:5555"])
        return (
            z85.encode(b"\x86\x4f\xd2\x6f\xb5\x59\xf7\x5b"),
            z85.decode(b"HelloWorld"),
            (repr(ev["event"]), int(ev["value"]), ev["endpoint"]),
            jsonapi.dumps({"a": [1, "é"]}),
            jsonapi.loads(b'{"a": 1}'),
            callable(monitor.recv_monitor_message),
        )

    pz, ez = both(snippet)
    assert ez == pz
    assert pz[0] == b"HelloWorld"


def test_recv_monitor_message_events(ctxs):
    def snippet(lib):
        ctx = ctxs(lib)
        from importlib import import_module

        monitor = import_module(lib.__name__ + ".utils.monitor")
        rep = ctx.socket(lib.REP)
        mon = rep.get_monitor_socket()
        port = rep.bind_to_random_port("tcp://127.0.0.1")
        req = ctx.socket(lib.REQ)
        req.connect("tcp://127.0.0.1:%d" % port)
        req.send(b"x")
        rep.recv()
        mon.rcvtimeo = 5000
        seen = []
        while "HANDSHAKE_SUCCEEDED" not in seen:
            ev = monitor.recv_monitor_message(mon)
            assert isinstance(ev["event"], lib.Event)
            seen.append(ev["event"].name)
            if ev["event"] == lib.Event.LISTENING:
                assert ev["endpoint"] == b"tcp://127.0.0.1:%d" % port
        for s in (req, rep, mon):
            s.close(linger=0)
        return seen

    pz, ez = both(snippet)
    assert ez == pz == ["LISTENING", "ACCEPTED", "HANDSHAKE_SUCCEEDED"]


def test_auth_is_a_package_with_pyzmq_modules(tmp_path):
    def snippet(lib):
        auth = importlib.import_module(lib.__name__ + ".auth")
        thread = importlib.import_module(lib.__name__ + ".auth.thread")
        aio = importlib.import_module(lib.__name__ + ".auth.asyncio")
        certs = importlib.import_module(lib.__name__ + ".auth.certs")
        base = importlib.import_module(lib.__name__ + ".auth.base")
        assert issubclass(thread.ThreadAuthenticator, base.Authenticator)
        assert issubclass(aio.AsyncioAuthenticator, base.Authenticator)
        d = tmp_path / lib.__name__
        d.mkdir()
        pub, sec = certs.create_certificates(str(d), "server")
        return (
            auth.CURVE_ALLOW_ANY,
            auth.create_certificates is certs.create_certificates,
            auth.Authenticator is base.Authenticator,
            [len(k) for k in certs.load_certificate(sec)],
            str(d / "server.key") == pub,
        )

    pz, ez = both(snippet)
    assert ez == pz
    # and each loads the other's files
    assert len(zmq.auth.load_certificate(str(tmp_path / "edgezmq" / "server.key_secret"))[1]) == 40
    import edgezmq.auth

    assert len(edgezmq.auth.load_certificate(str(tmp_path / "zmq" / "server.key_secret"))[1]) == 40


def test_error_module():
    names = ["ZMQBaseError", "ZMQBindError", "ZMQError", "NotDone", "ContextTerminated",
             "InterruptedSystemCall", "Again", "ZMQVersionError"]

    def snippet(lib):
        error = importlib.import_module(lib.__name__ + ".error")
        got = {n: [b.__name__ for b in getattr(error, n).__mro__[1:3]] for n in names}
        got["top"] = [getattr(lib, n) is getattr(error, n) for n in names if hasattr(lib, n)]
        return got

    pz, ez = both(snippet)
    assert ez == pz


def test_enums():
    def snippet(lib):
        constants = importlib.import_module(lib.__name__ + ".constants")
        return (
            repr(lib.SocketType.PUB), repr(lib.SocketType(5)), repr(lib.Event(5)), repr(lib.PollEvent(3)),
            repr(lib.PollEvent.POLLIN | lib.PollEvent.POLLOUT), repr(lib.Event.ALL),
            lib.SocketType.__mro__[1].__name__, lib.Event.__mro__[1].__name__, lib.PollEvent.__mro__[1].__name__,
            constants.SocketType is lib.SocketType, int(lib.IO_THREADS), int(lib.SocketType.XSUB),
        )

    pz, ez = both(snippet)
    assert ez == pz


def test_versions_are_edgezmqs_own_and_libzmq_level():
    assert edgezmq.pyzmq_version() == edgezmq.__version__ == "0.1.0"  # no pyzmq here: edgezmq's
    assert edgezmq.zmq_version_info() >= (4, 0)  # the libzmq behaviour followed (docs/api.md)
    assert edgezmq.zmq_version() == "%d.%d.%d" % edgezmq.zmq_version_info()
    assert zmq.zmq_version_info() >= (4, 0)


# -- MessageTracker ---------------------------------------------------------------
def test_send_track_returns_trackers_as_pyzmq(ctxs):
    def snippet(lib):
        ctx = ctxs(lib)
        push = ctx.socket(lib.PUSH)
        push.bind("inproc://track")
        pull = ctx.socket(lib.PULL)
        pull.connect("inproc://track")
        t_copy = push.send(b"a", track=True)
        t_small = push.send(b"b", copy=False, track=True)
        t_plain = push.send(b"c", copy=False)
        t_big = push.send(b"d" * 70000, copy=False)
        t_multi = push.send_multipart([b"e", b"f"], copy=False, track=True)
        pull.rcvtimeo = 5000
        got = [pull.recv() for _ in range(4)] + [pull.recv_multipart()]
        out = [t_copy, type(t_small).__name__, t_small.done, type(t_plain).__name__, t_big,
               type(t_multi).__name__, [len(g) if isinstance(g, bytes) else g for g in got]]
        t_small.wait(1)
        tr = lib.MessageTracker(t_small, t_multi)
        out.append(tr.done)
        with pytest.raises(TypeError):
            lib.MessageTracker(object())
        return out

    pz, ez = both(snippet)
    assert ez == pz
    assert pz[1] == "MessageTracker"


# -- the Context's options ----------------------------------------------------------
def test_context_get_set(ctxs):
    def snippet(lib):
        ctx = ctxs(lib)
        out = [ctx.get(lib.IO_THREADS), ctx.get(lib.MAX_SOCKETS), ctx.get(lib.SOCKET_LIMIT),
               ctx.get(lib.MSG_T_SIZE), ctx.io_threads]
        ctx.set(lib.IO_THREADS, 2)
        ctx.set(lib.MAX_SOCKETS, 10)
        out += [ctx.get(lib.IO_THREADS), ctx.io_threads, ctx.get(lib.MAX_SOCKETS)]
        out.append(outcome(lambda: ctx.get(9999)))
        out.append(outcome(lambda: ctx.set(lib.MSG_T_SIZE, 3)))
        s = ctx.socket(lib.PAIR)  # still works after the changes
        s.bind("inproc://ctxopts")
        s.close()
        return out

    pz, ez = both(snippet)
    assert ez == pz


# -- errors as pyzmq raises them ---------------------------------------------------------
def test_errors_as_pyzmq(ctxs):
    def snippet(lib):
        ctx = ctxs(lib)
        s = ctx.socket(lib.PUSH)

        def misspelt():
            s.rcvtimeout = 100

        return [
            outcome(lambda: s.bind(5)),
            outcome(lambda: s.connect(5)),
            outcome(lambda: s.bind(None)),
            outcome(lambda: ctx.socket("PUB")),
            outcome(lambda: ctx.socket(None)),
            outcome(lambda: ctx.socket(99)),
            outcome(misspelt),
            outcome(lambda: s.bind("tcp://nosuchiface0:5555")),
            outcome(lambda: s.bind("tcp://no-such-host.invalid:5555")),
            outcome(lambda: s.setsockopt(9999, 1)),
            s.linger == -1 or s.linger,
        ]

    pz, ez = both(snippet)
    assert ez == pz
    assert pz[0][0] == "TypeError" and pz[6][0] == "AttributeError" and pz[7] == ("ZMQError", 19)


def test_bind_interface_names_as_libzmq(ctxs):
    def snippet(lib):
        s = ctxs(lib).socket(lib.PULL)
        s.bind("tcp://lo:*")
        return s.last_endpoint.rsplit(b":", 1)[0]

    pz, ez = both(snippet)
    assert ez == pz == b"tcp://127.0.0.1"


def test_bind_to_random_port_range_exhausted(ctxs):
    def snippet(lib):
        ctx = ctxs(lib)
        a = ctx.socket(lib.PULL)
        port = a.bind_to_random_port("tcp://127.0.0.1")
        b = ctx.socket(lib.PULL)
        r = outcome(lambda: b.bind_to_random_port("tcp://127.0.0.1", min_port=port, max_port=port + 1, max_tries=3))
        return r, lib.ZMQBindError.__mro__[1].__name__

    pz, ez = both(snippet)
    assert ez == pz == (("ZMQBindError", None), "ZMQBaseError")


# -- with sock.bind(url): / with sock.connect(url): / with Context() -----------------------
def test_socket_context_unbinds_and_disconnects(ctxs):
    def snippet(lib):
        ctx = ctxs(lib)
        s = ctx.socket(lib.PULL)
        cm = s.bind("tcp://127.0.0.1:0")
        url = s.last_endpoint.decode()
        out = [type(cm).__name__ in ("SocketContext", "_SocketContext"), repr(cm) == "<SocketContext(bind=%r)>" % url]
        with cm as x:
            out.append(x is s)
        t = ctx.socket(lib.PULL)
        bind_soon(lib, t, url)  # free again
        out.append(outcome(lambda: s.unbind(url)))  # already unbound
        with s.connect("tcp://127.0.0.1:1") as y:
            out.append(y is s)
        out.append(outcome(lambda: s.disconnect("tcp://127.0.0.1:1")))
        with s.bind("inproc://scm"):
            pass
        u = ctx.socket(lib.PAIR)
        bind_soon(lib, u, "inproc://scm")  # the inproc name is free again too
        out.append(s.closed)
        return out

    pz, ez = both(snippet)
    assert ez == pz
    assert pz[0] and pz[1] and pz[3] == ("ZMQError", 2)


def test_context_with_block_destroys(recwarn):
    def snippet(lib):
        with lib.Context() as c:
            s = c.socket(lib.PUSH)
            s.bind("tcp://127.0.0.1:0")
        return c.closed, s.closed

    pz, ez = both(snippet)
    assert ez == pz == (True, True)


def test_term_wakes_a_blocked_recv_with_eterm():
    """term() from the main thread: a recv blocked in another thread raises
    ContextTerminated, and so does the next call there; term() returns once
    that thread has closed its socket (test_dropin_lifecycle.py has more)."""
    import threading

    def snippet(lib):
        ctx = lib.Context()
        res = []

        def worker():
            s = ctx.socket(lib.PULL)
            s.bind("inproc://term")
            for call in (s.recv, lambda: s.recv(lib.NOBLOCK), lambda: s.send(b"x")):
                res.append(outcome(call)[0])
            s.close()

        t = threading.Thread(target=worker)
        t.start()
        time.sleep(0.2)
        ctx.term()
        t.join(5)
        return res, ctx.closed, t.is_alive()

    pz, ez = both(snippet)
    assert ez == pz == (["ContextTerminated"] * 3, True, False)


# -- the wire: a frame announcing 2**62 bytes --------------------------------------------
def _zmtp_null_push():
    greeting = b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x01" + b"NULL".ljust(20, b"\x00") + b"\x00" + b"\x00" * 31
    meta = b"\x0bSocket-Type" + struct.pack(">I", 4) + b"PUSH"
    ready = b"\x05READY" + meta
    return greeting, b"\x04" + bytes([len(ready)]) + ready


@pytest.mark.parametrize("lib", LIBS, ids=["pyzmq", "edgezmq"])
def test_frame_of_2_62_bytes_closes_the_connection(lib, ctxs):
    pull = ctxs(lib).socket(lib.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    greeting, ready = _zmtp_null_push()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(greeting + ready)
        raw.sendall(b"\x02" + (2**62).to_bytes(8, "big") + b"abc")
        got = b""
        deadline = time.monotonic() + 5
        closed = False
        while time.monotonic() < deadline:
            try:
                chunk = raw.recv(4096)
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            got += chunk
    assert closed, "the peer kept a connection announcing a 2**62-byte frame open"


# -- the gateway without pyserial ------------------------------------------------------------
def test_gateway_without_pyserial_exits_with_the_reason():
    import subprocess

    code = ("import sys; sys.modules['serial'] = None\n"
            "from edgezmq.__main__ import main\n"
            "sys.exit(main(['gateway', 'serial:///dev/null', 'tcp://127.0.0.1:0']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "pyserial" in r.stderr
