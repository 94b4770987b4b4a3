"""PLAIN, CURVE and ZAP on the MicroPython unix port against libzmq (pyzmq):
the device as server and as client in three patterns, with and without ZAP."""
import os
import subprocess
import time

import pytest
from edgezmq import z85
from security_kit import CLIENT, PATTERNS, SERVER, STRANGER, _pz_sock

pytest.importorskip("zmq")


# --- CURVE on the MicroPython unix port against libzmq --------------------------------

MP_CURVE = r"""
import sys, time, gc, micropython
import edgezmq as zmq
role, ep, key = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = zmq.Context()
gc.collect()
base = gc.mem_alloc()
if role == "server":
    s = ctx.socket(zmq.PULL)
    s.curve_server = True
    s.curve_secretkey = key.encode()
    if len(sys.argv) > 4:  # only this client key may connect (ZAP, no thread)
        from edgezmq import z85
        from edgezmq.security import zap
        allowed = z85.decode(sys.argv[4])
        zap.serve(ctx, lambda d, a, m, c: (200, b"dev") if m == "CURVE" and c[0] == allowed else (400, b""))
    s.bind(ep)
    print("EP", s.last_endpoint.decode())
else:
    s = ctx.socket(zmq.PUSH)
    s.curve_serverkey = key.encode()
    s.curve_publickey, s.curve_secretkey = zmq.curve_keypair()
    s.connect(ep)
s.linger = 5000
t = None
for _ in range(6000):
    if s.engines and t is None:
        t = time.ticks_ms()  # the TCP connection is up: the greeting starts
    if [p for p in s.pattern.pipes if p.connected]:
        break
    ctx.reactor.run_once(10)
else:
    raise OSError("no CURVE handshake")
print("HANDSHAKE_MS", time.ticks_diff(time.ticks_ms(), t))
gc.collect()
print("HEAP live=%d over_idle=%d" % (gc.mem_alloc(), gc.mem_alloc() - base))
if role == "server":
    s.rcvtimeo = 30000
    for _ in range(3):
        print("GOT", repr(s.recv_multipart()))
else:
    s.sndtimeo = 30000
    for i in range(3):
        s.send_multipart([b"dev-%d" % i, b"y" * 200])
s.close()
ctx.term()
print("DONE")
"""


@pytest.fixture(scope="module")
def mp_bundle(bundle):
    """The session's device bundle (micropython/conftest.py) with mp_curve.py beside it."""
    with open(os.path.join(bundle, "mp_curve.py"), "w") as f:
        f.write(MP_CURVE)
    return bundle


MP_HEAP = os.environ.get("EDGEZMQ_MP_HEAP", "256K")  # as micropython/device_kit.py's CURVE_HEAP


def _mp(bundle, *args):
    from support import micropython_binary

    env = dict(os.environ, MICROPYPATH=bundle)
    return subprocess.Popen([micropython_binary(), "-X", "heapsize=" + MP_HEAP, os.path.join(bundle, "mp_curve.py"),
                             *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _mp_report(out):
    for line in out.splitlines():
        if line.startswith(("HANDSHAKE_MS", "HEAP")):
            print("[micropython heap=%s CURVE] %s" % (MP_HEAP, line))


@pytest.mark.micropython
def test_micropython_curve_server_with_libzmq_client(mp_bundle, pz):
    import zmq

    spk, ssk = zmq.curve_keypair()
    proc = _mp(mp_bundle, "server", "tcp://127.0.0.1:*", ssk.decode())
    try:
        line = proc.stdout.readline()
        assert line.startswith("EP "), line
        push = pz.socket(zmq.PUSH)
        push.linger = 0
        push.sndtimeo = 60000
        push.curve_serverkey = spk
        push.curve_publickey, push.curve_secretkey = zmq.curve_keypair()
        push.connect(line.split()[1])
        for i in range(3):
            push.send_multipart([b"lib-%d" % i, b"z" * 200])
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert out.count("GOT [b'lib-") == 3 and "DONE" in out, out
    _mp_report(out)


@pytest.mark.micropython
def test_micropython_curve_client_with_libzmq_server_and_zap(mp_bundle, pz, tmp_path):
    import zmq
    from zmq.auth.thread import ThreadAuthenticator as PzAuth

    auth = PzAuth(pz)
    auth.start()
    auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
    try:
        spk, ssk = zmq.curve_keypair()
        pull = pz.socket(zmq.PULL)
        pull.linger = 0
        pull.rcvtimeo = 60000
        pull.curve_server = True
        pull.curve_secretkey = ssk
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        proc = _mp(mp_bundle, "client", "tcp://127.0.0.1:%d" % port, spk.decode())
        try:
            got = [pull.recv_multipart() for _ in range(3)]
            out, _ = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert got == [[b"dev-%d" % i, b"y" * 200] for i in range(3)]
        assert proc.returncode == 0, out
        _mp_report(out)
    finally:
        auth.stop()


@pytest.mark.micropython
def test_micropython_curve_server_zap_serve_refuses_unknown_key(mp_bundle, pz):
    """edgezmq.security.zap.serve on the device: an unknown libzmq client is refused, the known one served."""
    import zmq

    spk, ssk = zmq.curve_keypair()
    good_pk, good_sk = zmq.curve_keypair()
    proc = _mp(mp_bundle, "server", "tcp://127.0.0.1:*", ssk.decode(), good_pk.decode())
    socks = []
    try:
        line = proc.stdout.readline()
        assert line.startswith("EP "), line
        for pk, sk, tag in ((None, None, b"bad"), (good_pk, good_sk, b"lib")):
            push = pz.socket(zmq.PUSH)
            push.linger = 0
            push.sndtimeo = 60000
            push.curve_serverkey = spk
            if pk is None:
                pk, sk = zmq.curve_keypair()
            push.curve_publickey, push.curve_secretkey = pk, sk
            push.connect(line.split()[1])
            socks.append(push)
            if tag == b"bad":
                mon = push.get_monitor_socket()
                socks.append(mon)
                from zmq.utils.monitor import recv_monitor_message

                end = time.monotonic() + 60
                events = []
                while zmq.EVENT_HANDSHAKE_FAILED_AUTH not in events and time.monotonic() < end:
                    if mon.poll(500):
                        events.append(recv_monitor_message(mon)["event"])
                assert zmq.EVENT_HANDSHAKE_FAILED_AUTH in events, events
                push.close(0)
                continue
            for i in range(3):
                push.send_multipart([b"lib-%d" % i, b"z" * 200])
        out, _ = proc.communicate(timeout=120)
    finally:
        for x in socks:
            x.close(0)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert out.count("GOT ") == 3 and out.count("GOT [b'lib-") == 3 and "DONE" in out, out


# --- the MicroPython unix port against libzmq: PLAIN and CURVE, three patterns -----------

MP_SEC = r"""
import sys, time
import edgezmq as zmq
from edgezmq import z85
role, pattern, mech, ep, zap_mode = sys.argv[1:6]
cred = sys.argv[6:]
ctx = zmq.Context()
SERVER = {"REQ-REP": zmq.REP, "PUSH-PULL": zmq.PULL, "PUB-SUB": zmq.PUB}
CLIENT = {"REQ-REP": zmq.REQ, "PUSH-PULL": zmq.PUSH, "PUB-SUB": zmq.SUB}

def pump(ms):
    end = time.ticks_add(time.ticks_ms(), ms)
    while time.ticks_diff(end, time.ticks_ms()) > 0:
        ctx.reactor.run_once(10)

def client(c):
    s = ctx.socket(CLIENT[pattern])
    s.linger = 0
    if mech == "PLAIN":
        s.plain_username, s.plain_password = c[0].encode(), c[1].encode()
    else:
        s.curve_serverkey = c[0].encode()
        s.curve_publickey, s.curve_secretkey = c[1].encode(), c[2].encode()
    if pattern == "PUB-SUB":
        s.subscribe(b"t")
    s.connect(ep)
    return s

def wait_pipe(s, ms):
    end = time.ticks_add(time.ticks_ms(), ms)
    while not [p for p in s.pattern.pipes if p.connected] and time.ticks_diff(end, time.ticks_ms()) > 0:
        ctx.reactor.run_once(10)
    return len([p for p in s.pattern.pipes if p.connected])

if role == "server":
    s = ctx.socket(SERVER[pattern])
    if mech == "PLAIN":
        s.plain_server = True
    else:
        s.curve_server = True
        s.curve_secretkey = cred[0].encode()
    if zap_mode == "zap":
        from edgezmq.security import zap
        allowed = z85.decode(cred[1]) if mech == "CURVE" else None
        def handler(domain, address, m, c):
            if m == "PLAIN" and c == [b"admin", b"secret"]:
                return 200, b"admin"
            if m == "CURVE" and c[0] == allowed:
                return 200, b"dev"
            return 400, b""
        zap.serve(ctx, handler)
    s.bind(ep)
    print("EP", s.last_endpoint.decode())
    s.linger = 5000
    if zap_mode == "refuse-all":  # PLAIN without a handler: every client is refused
        end = time.ticks_add(time.ticks_ms(), 20000)
        while s.stats["handshake_failures"] < 2 and time.ticks_diff(end, time.ticks_ms()) > 0:
            ctx.reactor.run_once(10)
        print("PIPES", len(s.pattern.pipes), "FAILURES", s.stats["handshake_failures"])
    elif pattern == "PUB-SUB":
        end = time.ticks_add(time.ticks_ms(), 30000)
        while not [p for p in s.pattern.pipes if p.subs and p.subs.match(b"t")]:
            ctx.reactor.run_once(10)
            if time.ticks_diff(end, time.ticks_ms()) < 0:
                raise OSError("no subscription")
        print("SUBSCRIBED", [sorted(p.subs.counts) for p in s.pattern.pipes])
        for i in range(3):
            s.send_multipart([b"other", b"%d" % i])
            s.send_multipart([b"t%d" % i, b"y" * 200])
    else:
        s.rcvtimeo = 30000
        for i in range(3):
            print("GOT", repr(s.recv_multipart()))
            if pattern == "REQ-REP":
                s.send_multipart([b"rep-%d" % i, b"y" * 200])
    print("USER", [p.user_id for p in s.pattern.pipes], "FAILURES", s.stats["handshake_failures"])
else:
    if cred[-1] == "bad":  # a refused client first: it never gets a pipe
        cred = cred[:-1]
        bad = client(cred[len(cred) // 2:])
        print("BAD_PIPES", wait_pipe(bad, 1500))
        bad.close()
        cred = cred[: len(cred) // 2]
    s = client(cred)
    s.linger = 5000
    if zap_mode == "refuse-all":
        print("PIPES", wait_pipe(s, 1500))
    else:
        s.rcvtimeo = s.sndtimeo = 30000
        for i in range(3):
            if pattern == "PUB-SUB":
                print("GOT", repr(s.recv_multipart()))
                continue
            s.send_multipart([b"dev-%d" % i, b"y" * 200])
            if pattern == "REQ-REP":
                print("GOT", repr(s.recv_multipart()))
    s.close()
ctx.term()
print("DONE")
"""

# (mechanism, ZAP on the server's side): PLAIN without ZAP refuses everyone
MP_CASES = [("CURVE", "zap"), ("CURVE", "nozap"), ("PLAIN", "zap"), ("PLAIN", "refuse-all")]
# the refusal happens before any pattern runs: PUSH/PULL is enough for it
MP_MATRIX = [(p, m, z) for p in sorted(PATTERNS) for m, z in MP_CASES if z != "refuse-all" or p == "PUSH-PULL"]


def _mp_sec(bundle, *args):
    from support import micropython_binary

    path = os.path.join(bundle, "mp_sec.py")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(MP_SEC)
    env = dict(os.environ, MICROPYPATH=bundle)
    return subprocess.Popen([micropython_binary(), "-X", "heapsize=" + MP_HEAP, path, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _finish(proc, timeout=60):
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert "DONE" in out, out
    return out


def _wait_refused(sock, mech, timeout=30):
    """The libzmq client saw its handshake refused after ZAP said 400.

    CURVE: libzmq reads our ERROR "400" and reports HANDSHAKE_FAILED_AUTH.
    PLAIN: libzmq 4.3's PLAIN client only recognises its own misspelt ERROR
    ("^RROR", plain_common.hpp); edgezmq sends the RFC 24 command, which
    libzmq reports as HANDSHAKE_FAILED_PROTOCOL. Refused either way."""
    import zmq
    from zmq.utils.monitor import recv_monitor_message

    want = zmq.EVENT_HANDSHAKE_FAILED_AUTH if mech == "CURVE" else zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    mon = sock.get_monitor_socket()
    try:
        end = time.monotonic() + timeout
        events = []
        while want not in events and time.monotonic() < end:
            if mon.poll(200):
                events.append(recv_monitor_message(mon)["event"])
        assert want in events, events
        assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in events, events
    finally:
        sock.disable_monitor()
        mon.close(0)


@pytest.mark.micropython
@pytest.mark.parametrize("pattern,mech,zap", MP_MATRIX, ids=["-".join(c) for c in MP_MATRIX])
def test_micropython_server_with_libzmq_clients(mp_bundle, pz, pattern, mech, zap):
    """MicroPython binds (REP, PULL, PUB); libzmq connects: a refused client
    first (wrong password, unknown key) when a handler is bound, then the good one."""
    ctype, stype = PATTERNS[pattern]
    creds = [z85.encode(SERVER[1]).decode(), z85.encode(CLIENT[0]).decode()] if mech == "CURVE" else []
    proc = _mp_sec(mp_bundle, "server", pattern, mech, "tcp://127.0.0.1:*", zap, *creds)
    socks = []
    try:
        line = proc.stdout.readline()
        assert line.startswith("EP "), line + proc.stdout.read()
        ep = line.split()[1]
        if zap == "zap":
            bad = _pz_sock(pz, ctype, mech, "client", good=False)
            socks.append(bad)
            bad.connect(ep)
            _wait_refused(bad, mech)
            bad.close(0)
        c = _pz_sock(pz, ctype, mech, "client")
        socks.append(c)
        if ctype == "SUB":
            c.subscribe(b"t")
        c.connect(ep)
        if zap == "refuse-all":
            c.send_multipart([b"never"])  # queued in libzmq: no handshake ever completes
            out = _finish(proc)
            assert "PIPES 0 FAILURES" in out, out
            return
        for i in range(3):
            if ctype == "SUB":
                assert c.recv_multipart() == [b"t%d" % i, b"y" * 200]
                continue
            c.send_multipart([b"lib-%d" % i, b"z" * 200])
            if ctype == "REQ":
                assert c.recv_multipart() == [b"rep-%d" % i, b"y" * 200]
        out = _finish(proc)
    finally:
        for s in socks:
            s.close(0)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if ctype != "SUB":
        assert [ln for ln in out.splitlines() if ln.startswith("GOT")] == [
            "GOT [b'lib-%d', b'%s']" % (i, "z" * 200) for i in range(3)], out
    else:
        assert "SUBSCRIBED [[b't']]" in out, out  # the SUBSCRIBE arrived inside MESSAGE
    user = {"zap": "b'admin'" if mech == "PLAIN" else "b'dev'", "nozap": "b''"}[zap]
    assert "USER [%s]" % user in out, out
    if zap == "zap":
        assert "FAILURES 0" not in out, out  # the refused client was counted


@pytest.mark.micropython
@pytest.mark.parametrize("pattern,mech,zap", MP_MATRIX, ids=["-".join(c) for c in MP_MATRIX])
def test_micropython_client_with_libzmq_server(mp_bundle, pz, pattern, mech, zap):
    """libzmq binds (REP, PULL, PUB) with zmq.auth or without; MicroPython connects:
    with a handler, a refused client first (never attached, nothing delivered)."""
    import zmq
    from zmq.auth.thread import ThreadAuthenticator as PzAuth

    ctype, stype = PATTERNS[pattern]
    auth = None
    if zap == "zap":
        auth = PzAuth(pz)
        auth.start()
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
        auth.curve_user_id = lambda key: b"dev"
        auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
        allowed = z85.encode(CLIENT[0])
        auth.configure_curve_callback("*", type("P", (), {"callback": lambda self, d, k: k == allowed})())
    srv = _pz_sock(pz, stype, mech, "server")
    srv.rcvtimeo = 1500
    stop = []
    try:
        port = srv.bind_to_random_port("tcp://127.0.0.1")
        ep = "tcp://127.0.0.1:%d" % port
        if mech == "PLAIN":
            creds = ["admin", "secret"] + (["admin", "wrong", "bad"] if zap == "zap" else [])
        else:
            creds = [z85.encode(SERVER[0]).decode(), z85.encode(CLIENT[0]).decode(), z85.encode(CLIENT[1]).decode()]
            if zap == "zap":
                creds += [creds[0], z85.encode(STRANGER[0]).decode(), z85.encode(STRANGER[1]).decode(), "bad"]
        proc = _mp_sec(mp_bundle, "client", pattern, mech, ep, zap, *creds)
        try:
            if ctype == "SUB":
                import threading

                def publish():
                    while not stop:
                        srv.send_multipart([b"other", b"x"])
                        for i in range(3):
                            srv.send_multipart([b"t%d" % i, b"y" * 200])
                        time.sleep(0.05)

                th = threading.Thread(target=publish, daemon=True)
                th.start()
                out = _finish(proc)
                stop.append(1)
                th.join(5)
            else:
                got = []
                end = time.monotonic() + 60
                while len(got) < 3 and time.monotonic() < end:
                    try:
                        got.append(srv.recv_multipart())
                    except zmq.Again:
                        if proc.poll() is not None:
                            break  # the device is done and nothing more came
                        continue
                    if stype == "REP":
                        srv.send_multipart([b"rep-%d" % (len(got) - 1), b"y" * 200])
                out = _finish(proc)
                want = [] if zap == "refuse-all" else [[b"dev-%d" % i, b"y" * 200] for i in range(3)]
                assert got == want, (got, out)  # the refused client delivered nothing
        finally:
            stop.append(1)
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    finally:
        srv.close(0)
        if auth is not None:
            auth.stop()
    if zap == "refuse-all":
        assert "PIPES 0" in out, out
        return
    if zap == "zap":
        assert "BAD_PIPES 0" in out, out
    gots = [ln for ln in out.splitlines() if ln.startswith("GOT")]
    if ctype == "SUB":
        assert gots[:3] == ["GOT [b't%d', b'%s']" % (i, "y" * 200) for i in range(3)], out
    elif ctype == "REQ":
        assert gots == ["GOT [b'rep-%d', b'%s']" % (i, "y" * 200) for i in range(3)], out
