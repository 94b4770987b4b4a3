"""PLAIN, CURVE and ZAP at socket level against real libzmq: the pattern x
mechanism x ZAP matrix with either side serving, ZAP status codes and
malformed replies, key option forms, heartbeats, frame metadata."""
import time

import edgezmq as ez
import pytest
from edgezmq import z85
from edgezmq.auth import ThreadAuthenticator
from edgezmq.security import zap as ez_zap
from security_kit import (  # noqa: F401 (fixtures: certs, ctx, peer)
    CLIENT,
    PATTERNS,
    SERVER,
    Local,
    Remote,
    _pz_sock,
    certs_fixture,
    ctx_fixture,
    peer_fixture,
    sec_opts,
)

pytest.importorskip("zmq")


def make(side, ctx, peer, stype, opts):
    return Local(ctx, stype, opts) if side == "edgezmq" else Remote(peer, stype, opts)


def start_auth(side, ctx, peer, mech, certs):
    """ZAP on the server's side: edgezmq.auth or zmq.auth, same policy."""
    if side == "edgezmq":
        a = ThreadAuthenticator(ctx)
        a.start()
        a.configure_plain(domain="*", passwords={"admin": "secret"})
        a.configure_curve(domain="*", location=certs)
        return a
    peer.auth(passwords={"admin": "secret"}, curve=certs)
    return None


def exchange(server, client, pattern, tag, timeout=3000):
    """One message through the pattern; -> True if it arrived intact."""
    if pattern == "REQ-REP":
        client.send([b"req", tag])
        got = server.recv(timeout)
        if got != [b"req", tag]:
            return False
        server.send([b"rep", tag])
        return client.recv(timeout) == [b"rep", tag]
    if pattern == "PUSH-PULL":
        client.send([b"push", tag])
        return server.recv(timeout) == [b"push", tag]
    # PUB-SUB: the client subscribes (inside MESSAGE under CURVE); the server
    # publishes until the subscription has arrived (slow joiner)
    end = time.monotonic() + timeout / 1000.0
    while time.monotonic() < end:
        server.send([b"other", tag])  # filtered out by the subscription
        server.send([b"t", tag])
        got = client.recv(100)
        if got is not None:
            return got == [b"t", tag]
    return False


def try_bad(server, client, pattern, refusal_seen=True):
    """A refused client: nothing may reach the server (or the subscriber).
    refusal_seen: the client learns of its refusal (libzmq's PLAIN server
    without ZAP leaves the handshake hanging instead)."""
    if pattern == "PUB-SUB":
        return exchange(server, client, pattern, b"bad", timeout=800)
    if isinstance(client, Local) and refusal_seen:
        # an edgezmq client that was refused never gets a peer, so its send
        # blocks until SNDTIMEO: wait for the refusal itself instead (a
        # counted handshake failure), then give the send a short while only.
        # Were the client wrongly accepted, no failure comes and the send
        # keeps its whole SNDTIMEO to go through.
        end = time.monotonic() + 3
        while client.s.stats["handshake_failures"] < 1 and time.monotonic() < end:
            time.sleep(0.01)
        if client.s.stats["handshake_failures"]:
            client.s.sndtimeo = 100
    try:
        client.send([b"bad", b"bad"])
    except ez.Again:
        return False  # the client never got a peer: nothing queued anywhere
    except ez.ZMQError:
        return False
    return server.recv(800) is not None


@pytest.mark.parametrize("mech,zap", [("PLAIN", True), ("PLAIN", False), ("CURVE", True),
                                      ("CURVE", False)],
                         ids=["plain-zap", "plain-nozap", "curve-zap", "curve-nozap"])
@pytest.mark.parametrize("pattern", sorted(PATTERNS))
@pytest.mark.parametrize("server_side", ["edgezmq", "libzmq"])
def test_security_matrix(ctx, peer, certs, server_side, pattern, mech, zap):
    client_side = "libzmq" if server_side == "edgezmq" else "edgezmq"
    ctype, stype = PATTERNS[pattern]
    auth = start_auth(server_side, ctx, peer, mech, certs) if zap else None
    try:
        server = make(server_side, ctx, peer, stype, sec_opts(mech, "server"))
        ep = server.bind()
        if mech == "PLAIN" and not zap:
            # libzmq 4.3 and edgezmq refuse every PLAIN client without a ZAP handler
            good = make(client_side, ctx, peer, ctype, sec_opts(mech, "client"))
            if ctype == "SUB":
                good.subscribe(b"t")
            good.connect(ep)
            assert not try_bad(server, good, pattern, refusal_seen=False)
            _assert_refused(server_side, server, good)
            return
        if zap:
            bad = make(client_side, ctx, peer, ctype, sec_opts(mech, "client", good=False))
            if ctype == "SUB":
                bad.subscribe(b"t")
            bad.connect(ep)
            assert not try_bad(server, bad, pattern), "a refused client's message was delivered"
            _assert_refused(server_side, server, bad)
        good = make(client_side, ctx, peer, ctype, sec_opts(mech, "client"))
        if ctype == "SUB":
            good.subscribe(b"t")
        good.connect(ep)
        for i in range(3):
            assert exchange(server, good, pattern, b"%d" % i), "good client not served"
        if server_side == "edgezmq" and zap:
            users = {p.user_id for p in server.s.pattern.pipes if p.active}
            assert users == {b"admin" if mech == "PLAIN" else z85.encode(CLIENT[0])}
    finally:
        if auth is not None:
            auth.stop()


def _assert_refused(server_side, server, client):
    """The refused connection was closed, and never reached the socket's routing."""
    if server_side == "edgezmq":
        s = server.s
        end = time.monotonic() + 3
        while s.stats["handshake_failures"] < 1 and time.monotonic() < end:
            time.sleep(0.02)
        assert s.stats["handshake_failures"] >= 1
        assert not [p for p in s.pattern.pipes if p.active]
        assert s.stats["connects"] == 0
    else:
        # libzmq closes (quietly, or after ERROR): our client never attached it
        s = client.s
        assert s.stats["connects"] == 0
        assert not [p for p in s.pattern.pipes if p.connected]


def test_cooperative_context_curve_zap_edgezmq_server(peer, certs):
    """The same ZAP path when no I/O thread exists (MicroPython's model)."""
    c = ez.Context(io_threads=0)
    c.log = lambda *a: None
    auth = ThreadAuthenticator(c)
    auth.start()
    auth.configure_curve(domain="*", location=certs)
    try:
        pull = Local(c, "PULL", sec_opts("CURVE", "server"))
        ep = pull.bind()
        peer.pump = lambda: pull.s.poll(0)
        bad = Remote(peer, "PUSH", sec_opts("CURVE", "client", good=False))
        bad.connect(ep)
        bad.send([b"bad"])
        good = Remote(peer, "PUSH", sec_opts("CURVE", "client"))
        good.connect(ep)
        good.send([b"good"])
        assert pull.recv(3000) == [b"good"]
        assert pull.recv(300) is None
        assert pull.s.stats["handshake_failures"] >= 1
    finally:
        peer.pump = None
        auth.stop()
        c.destroy(linger=0)


# --- edgezmq.security.zap.serve: status codes ---------------------------------------------


@pytest.mark.parametrize("status", [200, 300, 400, 500, "raise"])
def test_zap_serve_status_codes_against_libzmq_client(ctx, peer, status):
    """200 lets the client in; 300 closes quietly; 400/500 send ERROR; a
    handler that raises answers 500. libzmq's client sees each."""
    seen = []

    def handler(domain, address, mechanism, credentials):
        seen.append((domain, address, mechanism, credentials))
        if status == "raise":
            raise RuntimeError("policy store unavailable")
        return status, b"user-" + credentials[0][:2]

    zap = ez_zap.serve(ctx, handler)
    try:
        pull = Local(ctx, "PULL", dict(sec_opts("CURVE", "server"), zap_domain=b"dom"))
        ep = pull.bind()
        push = Remote(peer, "PUSH", sec_opts("CURVE", "client"))
        push.r.monitor()
        push.connect(ep)
        push.send([b"x"])
        got = pull.recv(1500 if status == 200 else 800)
        if status == 200:
            assert got == [b"x"]
            assert pull.s.pattern.pipes[0].user_id == b"user-" + CLIENT[0][:2]
        else:
            assert got is None
            assert pull.s.stats["handshake_failures"] >= 1
        assert seen and seen[0][0] == "dom" and seen[0][1] == "127.0.0.1" and seen[0][2] == "CURVE"
        assert seen[0][3] == [CLIENT[0]]
        time.sleep(0.3)
        events = [e for e, _ in push.r.events(timeout=0)]  # 300: libzmq keeps reconnecting
        import zmq

        if status in (400, 500, "raise"):
            assert zmq.EVENT_HANDSHAKE_FAILED_AUTH in events, events
        elif status == 300:
            assert zmq.EVENT_HANDSHAKE_FAILED_AUTH not in events, events
            assert zmq.EVENT_DISCONNECTED in events, events
    finally:
        zap.close()


@pytest.mark.parametrize("server_side", ["edgezmq", "libzmq"])
def test_null_with_zap_domain_asks_zap(ctx, peer, server_side):
    """As libzmq: a NULL socket with ZAP_DOMAIN asks the handler, so deny() applies;
    without ZAP_DOMAIN the handler is not asked."""
    client_side = "libzmq" if server_side == "edgezmq" else "edgezmq"
    auth = None
    if server_side == "edgezmq":
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.deny("127.0.0.1")
    else:
        peer.auth(allow=["10.9.9.9"])  # zmq.auth: 127.0.0.1 is not on the list
    try:
        refused = make(server_side, ctx, peer, "PULL", {"zap_domain": b"global"})
        ep = refused.bind()
        c1 = make(client_side, ctx, peer, "PUSH", {})
        c1.connect(ep)
        assert not try_bad(refused, c1, "PUSH-PULL")
        open_ = make(server_side, ctx, peer, "PULL", {})
        ep2 = open_.bind()
        c2 = make(client_side, ctx, peer, "PUSH", {})
        c2.connect(ep2)
        assert exchange(open_, c2, "PUSH-PULL", b"null")
        if auth is not None:
            n = auth.requests
            assert n >= 1
            assert exchange(open_, c2, "PUSH-PULL", b"again") and auth.requests == n
            assert refused.s.stats["connects"] == 0
    finally:
        if auth is not None:
            auth.stop()


@pytest.mark.parametrize("mech", ["PLAIN", "CURVE"])
def test_zap_handler_on_the_client_side_is_not_asked(ctx, peer, certs, mech):
    """ZAP judges the server's peers only: a handler in the client's context
    that would deny everything does not stop an edgezmq client."""
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.deny("127.0.0.1")
    try:
        peer.auth(passwords={"admin": "secret"}, curve=certs)
        server = Remote(peer, "PULL", sec_opts(mech, "server"))
        ep = server.bind()
        client = Local(ctx, "PUSH", sec_opts(mech, "client"))
        client.connect(ep)
        assert exchange(server, client, "PUSH-PULL", b"client-side")
        assert auth.requests == 0
    finally:
        auth.stop()


def test_zap_answer_edge_cases():
    """edgezmq.security.zap.answer: malformed requests, handler results, metadata."""
    req = [b"1.0", b"7", b"dom", b"1.2.3.4", b"id", b"PLAIN", b"u", b"p"]
    assert ez_zap.answer(lambda *a: (200, "bob"), req) == [b"1.0", b"7", b"200", b"OK", b"bob", b""]
    assert ez_zap.answer(lambda *a: 200, req)[2:5] == [b"200", b"OK", b""]
    assert ez_zap.answer(lambda *a: (400, b"", "nope"), req)[2:4] == [b"400", b"nope"]
    meta = ez_zap.answer(lambda *a: (200, b"u", None, {"Role": "admin"}), req)[5]
    assert meta == b"\x04Role\x00\x00\x00\x05admin"
    logged = []
    log = lambda *a: logged.append(a)  # noqa: E731  (Context.log(level, msg, *args))
    assert ez_zap.answer(lambda *a: (201, b""), req, log)[2] == b"500"
    assert ez_zap.answer(lambda *a: 1 / 0, req, log)[2:4] == [b"500", b"Internal error"]
    assert [a[0] for a in logged] == [30, 30]  # WARNING: the handler has a bug
    assert ez_zap.answer(lambda *a: 200, [b"2.0"] + req[1:])[2:4] == [b"400", b"Invalid version"]
    assert ez_zap.answer(lambda *a: 200, req[:4])[2:4] == [b"400", b"Not enough frames"]
    assert ez_zap.answer(lambda *a: 200, req[:1]) is None
    seen = []
    ez_zap.answer(lambda *a: seen.append(a) or 200, req)
    assert seen == [("dom", "1.2.3.4", "PLAIN", [b"u", b"p"])]


def test_pending_zap_verdict_is_not_routable(ctx, peer):
    """CVE-2020-15166: while the ZAP handler has not answered, the peer is not
    attached (no delivery, ROUTER cannot address it); a 200 then attaches it and
    its queued message arrives. The handler is a plain ROUTER socket served here."""
    handler = ctx.socket(ez.ROUTER)
    handler.linger = 0
    handler.bind("inproc://zeromq.zap.01")
    try:
        router = Local(ctx, "ROUTER", dict(sec_opts("CURVE", "server"), router_mandatory=1,
                                           zap_domain=b"edge"))
        ep = router.bind()
        d = Remote(peer, "DEALER", dict(sec_opts("CURVE", "client"), routing_id=b"pending"))
        d.connect(ep)
        d.send([b"early"])
        assert handler.poll(3000)
        req = handler.recv_multipart()  # [handler's id for us, b"", version, id, domain, ...]
        assert req[1:3] == [b"", b"1.0"] and req[4:6] == [b"edge", b"127.0.0.1"]
        assert req[7:] == [b"CURVE", CLIENT[0]]
        time.sleep(0.3)  # the handshake is complete but for the verdict
        assert router.recv(300) is None
        with pytest.raises(ez.ZMQError) as e:
            router.send([b"pending", b"too early"])
        assert e.value.errno == ez.EHOSTUNREACH
        assert not [p for p in router.s.pattern.pipes if p.active]
        handler.send_multipart([req[0], b"", b"1.0", req[3], b"200", b"OK", b"dev-9", b""])
        assert router.recv(3000) == [b"pending", b"early"]
        router.send([b"pending", b"back"])
        assert d.recv(3000) == [b"back"]
        assert [p.user_id for p in router.s.pattern.pipes if p.active] == [b"dev-9"]
    finally:
        handler.close(0)


def test_curve_key_option_forms(ctx, peer):
    """CURVE keys as 32 raw bytes, 40 Z85 characters, or 41 with libzmq's trailing
    NUL; getsockopt returns Z85; anything else is EINVAL. An edgezmq client keyed in
    Z85 talks to libzmq; curve_keypair()/curve_public() agree with pyzmq's."""
    import zmq

    s = ctx.socket(ez.PUSH)
    try:
        for form in (SERVER[1], z85.encode(SERVER[1]), z85.encode(SERVER[1]) + b"\0"):
            s.curve_secretkey = form
            assert s.curve_secretkey == z85.encode(SERVER[1])
            assert s.getsockopt(ez.CURVE_SECRETKEY) == z85.encode(SERVER[1])
        for bad in (SERVER[1][:31], z85.encode(SERVER[1])[:39], b"\"" * 40, b"%%%%%" * 8, b""):
            with pytest.raises(ez.ZMQError) as e:
                s.curve_serverkey = bad
            assert e.value.errno == ez.EINVAL, bad
    finally:
        s.close(0)
    pk, sk = ez.curve_keypair()
    assert len(pk) == len(sk) == 40 and zmq.curve_public(sk) == pk
    ppk, psk = zmq.curve_keypair()
    assert ez.curve_public(psk) == ppk and ez.curve_public(psk.decode()) == ppk
    assert ez.has("curve") and ez.has("plain")
    server = Remote(peer, "PULL", sec_opts("CURVE", "server"))
    ep = server.bind()
    client = Local(ctx, "PUSH", {"curve_serverkey": z85.encode(SERVER[0]) + b"\0",
                                 "curve_publickey": z85.encode(CLIENT[0]),
                                 "curve_secretkey": z85.encode(CLIENT[1])})
    client.connect(ep)
    assert exchange(server, client, "PUSH-PULL", b"z85-keys")


@pytest.mark.parametrize("status", [400, 500])
def test_zap_refusal_status_reaches_libzmq_client(ctx, pz, status):
    """The ERROR an edgezmq CURVE server sends carries the ZAP status code, which
    libzmq's client reports as the value of EVENT_HANDSHAKE_FAILED_AUTH."""
    import zmq
    from zmq.utils.monitor import recv_monitor_message

    zap = ez_zap.serve(ctx, lambda *a: (status, b""))
    try:
        pull = Local(ctx, "PULL", sec_opts("CURVE", "server"))
        ep = pull.bind()
        push = _pz_sock(pz, "PUSH", "CURVE", "client")
        mon = push.get_monitor_socket()
        push.connect(ep)
        end = time.monotonic() + 5
        seen = []
        while time.monotonic() < end:
            if mon.poll(200):
                m = recv_monitor_message(mon)
                seen.append((m["event"], m["value"]))
                if m["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                    break
        assert (zmq.EVENT_HANDSHAKE_FAILED_AUTH, status) in seen, seen
        push.disable_monitor()
        mon.close(0)
        push.close(0)
    finally:
        zap.close()


@pytest.mark.parametrize("server_side", ["edgezmq", "libzmq"])
def test_curve_heartbeats_with_libzmq_travel_inside_message(ctx, peer, server_side):
    """PING/PONG both ways under CURVE (libzmq boxes them with flag 0x02; so do
    we): the connection outlives many heartbeat intervals and keeps its pipe."""
    hb = {"heartbeat_ivl": 100, "heartbeat_timeout": 1000}
    client_side = "libzmq" if server_side == "edgezmq" else "edgezmq"
    server = make(server_side, ctx, peer, "PULL", dict(sec_opts("CURVE", "server"), **hb))
    ep = server.bind()
    client = make(client_side, ctx, peer, "PUSH", dict(sec_opts("CURVE", "client"), **hb))
    client.connect(ep)
    assert exchange(server, client, "PUSH-PULL", b"before")
    time.sleep(1.5)  # ~15 PINGs each way
    assert exchange(server, client, "PUSH-PULL", b"after")
    local = server if server_side == "edgezmq" else client
    st = local.s.stats
    assert st["disconnects"] == 0 and st["heartbeat_timeouts"] == 0 and st["protocol_errors"] == 0, st


@pytest.mark.parametrize("reply", [
    lambda r: [r[0], b"", b"2.0", r[3], b"200", b"OK", b"u", b""],  # wrong version
    lambda r: [r[0], b"", b"1.0", b"not-" + r[3], b"200", b"OK", b"u", b""],  # wrong request id
    lambda r: [r[0], b"", b"1.0", r[3], b"201", b"OK", b"u", b""],  # invalid status
    lambda r: [r[0], b"", b"1.0", r[3], b"200", b"OK", b"u", b"", b"extra"],  # too many frames
    lambda r: [r[0], b"", b"1.0", r[3], b"200"],  # too few frames
    lambda r: [r[0], b"", b"1.0", r[3], b"200", b"OK", b"u", b"\x05bogus"],  # bad metadata
    None,  # the handler never answers
], ids=["version", "request-id", "status-201", "too-many", "too-few", "metadata", "silent"])
def test_malformed_zap_replies_fail_closed(ctx, peer, reply):
    """libzmq's test_security_zap cases against an edgezmq CURVE server: a ZAP reply
    that is not a well-formed answer to this request never lets the client in; the
    connection is closed (at the latest by HANDSHAKE_IVL) and nothing is delivered."""
    handler = ctx.socket(ez.ROUTER)
    handler.linger = 0
    handler.bind("inproc://zeromq.zap.01")
    try:
        pull = Local(ctx, "PULL", dict(sec_opts("CURVE", "server"), handshake_ivl=1000))
        ep = pull.bind()
        push = Remote(peer, "PUSH", sec_opts("CURVE", "client"))
        push.connect(ep)
        push.send([b"must not arrive"])
        assert handler.poll(3000)
        req = handler.recv_multipart()
        if reply is not None:
            handler.send_multipart(reply(req))
        end = time.monotonic() + 3
        while pull.s.stats["handshake_failures"] < 1 and time.monotonic() < end:
            time.sleep(0.02)
        assert pull.s.stats["handshake_failures"] >= 1
        assert pull.recv(200) is None
        assert pull.s.stats["connects"] == 0
        push.close()
    finally:
        handler.close(0)


# --- Frame metadata: recv(copy=False) -------------------------------------------


@pytest.mark.parametrize("mech", ["PLAIN", "CURVE"])
def test_frame_metadata_user_id_from_zap(ctx, peer, mech):
    """pyzmq's frame.get("User-Id"): the user id the ZAP handler returned,
    plus Peer-Address and the peer's READY properties, on each frame of a
    message received with copy=False from a libzmq client."""
    zap = ez_zap.serve(ctx, lambda domain, address, mechanism, credentials: (200, b"admin"))
    try:
        pull = Local(ctx, "PULL", dict(sec_opts(mech, "server"), zap_domain=b"dom"))
        ep = pull.bind()
        push = Remote(peer, "PUSH", sec_opts(mech, "client"))
        push.connect(ep)
        push.send([b"head", b"body"])
        assert pull.s.poll(3000)
        frames = pull.s.recv_multipart(copy=False)
        assert [bytes(f) for f in frames] == [b"head", b"body"]
        assert [f.more for f in frames] == [True, False]
        assert frames[0].get(ez.MORE) == 1 and frames[1].get(ez.MORE) == 0
        for f in frames:
            assert f.get("User-Id") == "admin"
            assert f.get("Peer-Address") == "127.0.0.1"
            assert f.get("Socket-Type") == "PUSH"
        with pytest.raises(ez.ZMQError) as e:
            frames[0].get("No-Such-Property")
        assert e.value.errno == ez.EINVAL
        assert frames[1].bytes == b"body" and bytes(frames[1].buffer) == b"body"
    finally:
        zap.close()


def test_frame_without_zap_has_no_user_id(ctx, peer):
    """As libzmq: no ZAP handler, no User-Id (EINVAL); a Frame can be sent back."""
    rep = Local(ctx, "REP", {})
    ep = rep.bind()
    req = Remote(peer, "REQ", {})
    req.connect(ep)
    req.send([b"ping"])
    assert rep.s.poll(3000)
    f = rep.s.recv(copy=False)
    assert f == b"ping" and isinstance(f, ez.Frame)
    with pytest.raises(ez.ZMQError) as e:
        f.get("User-Id")
    assert e.value.errno == ez.EINVAL
    assert f.get("Socket-Type") == "REQ"
    rep.s.send(ez.Frame(b"pong"))
    assert req.recv() == [b"pong"]
