"""The sans-IO mechanisms against libzmq over raw TCP: a tiny blocking ZMTP 3.0
driver written here (greeting + command frames) against pyzmq sockets, so
wire correctness is proven apart from the connection layer."""
import socket

import pytest
import zmq
import zmq.auth
from edgezmq.errors import ProtocolError
from edgezmq.ports.micropython.nacl_pure import PureCrypto
from edgezmq.security import create
from edgezmq.security.mechanism import MechanismConfig
from mechanism_kit import NACL, REP_META, REQ_META, _rep_server, ctx_fixture, zap_handler  # noqa: F401 (fixtures: ctx)
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85 as pyzmq_z85

# --- interop with libzmq over raw TCP ------------------------------------------


class Wire:
    """Blocking ZMTP 3.0 framing over a TCP socket, just enough for tests."""

    def __init__(self, sock):
        self.sock = sock
        sock.settimeout(10)

    def recvn(self, n):
        b = b""
        while len(b) < n:
            chunk = self.sock.recv(n - len(b))
            if not chunk:
                raise EOFError("peer closed after %d of %d bytes" % (len(b), n))
            b += chunk
        return b

    def greet(self, mechanism, as_server):
        g = (b"\xff" + bytes(8) + b"\x7f" + bytes((3, 0)) + mechanism.ljust(20, b"\0")
             + bytes((as_server,)) + bytes(31))
        self.sock.sendall(g)  # whole greeting at once, then read the peer's
        peer = self.recvn(64)
        assert peer[0] == 0xFF and peer[9] & 1 and peer[10] == 3
        assert peer[12:32].rstrip(b"\0") == mechanism
        return peer

    def send_frame(self, body, flags=0):
        if len(body) > 255:
            self.sock.sendall(bytes((flags | 0x02,)) + len(body).to_bytes(8, "big") + body)
        else:
            self.sock.sendall(bytes((flags, len(body))) + body)

    def send_command(self, body):
        self.send_frame(body, 0x04)

    def recv_frame(self):
        flags = self.recvn(1)[0]
        n = int.from_bytes(self.recvn(8), "big") if flags & 0x02 else self.recvn(1)[0]
        return flags, self.recvn(n)

    def handshake(self, mech, zap=None):
        mech.start()
        while True:
            while mech.out:
                self.send_command(mech.out.pop(0))
            if mech.ready:
                return
            flags, body = self.recv_frame()
            assert flags & 0x04, "handshake frames are commands"
            mech.on_command(body)
            if mech.zap_request is not None:
                req, mech.zap_request = mech.zap_request, None
                mech.on_zap_reply(zap(req))

    # CURVE traffic: libzmq sends and expects MESSAGE in *data* frames
    # (flags 0x00, or 0x02 when long); MORE travels inside the box only.
    def send_curve(self, mech, parts):
        for i, part in enumerate(parts):
            self.send_frame(mech.encode(1 if i < len(parts) - 1 else 0, part), 0x00)

    def recv_curve(self, mech):
        parts = []
        while True:
            flags, body = self.recv_frame()
            assert not flags & 0x05, "libzmq sends CURVE MESSAGE as a plain data frame"
            more, data = mech.decode(body)
            parts.append(data)
            if not more & 1:
                return parts

    def send_parts(self, parts):
        for i, part in enumerate(parts):
            self.send_frame(part, 0x01 if i < len(parts) - 1 else 0x00)

    def recv_parts(self):
        parts = []
        while True:
            flags, body = self.recv_frame()
            assert not flags & 0x04
            parts.append(body)
            if not flags & 0x01:
                return parts


def _connect(port):
    return Wire(socket.create_connection(("127.0.0.1", port), timeout=10))


def _curve_client_cfg(server_public_z85, crypto):
    public, secret = crypto.keypair()
    cc = MechanismConfig()
    cc.curve_serverkey = pyzmq_z85.decode(server_public_z85)
    cc.curve_publickey, cc.curve_secretkey, cc.crypto = public, secret, crypto
    return cc


@pytest.mark.parametrize("crypto", [NACL, PureCrypto()], ids=["pynacl", "pure"])
@pytest.mark.parametrize("with_zap", [False, True], ids=["no-zap", "zap"])
def test_interop_curve_client_vs_libzmq_server(ctx, crypto, with_zap):
    auth = None
    if with_zap:
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
    try:
        spub, ssec = zmq.curve_keypair()
        rep, port = _rep_server(ctx, curve_server=True, curve_secretkey=ssec)
        wire = _connect(port)
        peer = wire.greet(b"CURVE", 0)
        assert peer[12:17] == b"CURVE"
        mech = create(b"CURVE", _curve_client_cfg(spub, crypto), False, REQ_META)
        wire.handshake(mech)
        assert mech.peer_meta[b"socket-type"] == b"REP"
        wire.send_curve(mech, [b"", b"hello"])
        assert rep.recv_multipart() == [b"hello"]
        rep.send(b"world")
        assert wire.recv_curve(mech) == [b"", b"world"]
        wire.send_curve(mech, [b"", b"x" * 1000])  # a long frame
        assert rep.recv_multipart() == [b"x" * 1000]
        rep.send_multipart([b"a", b"b" * 300])
        assert wire.recv_curve(mech) == [b"", b"a", b"b" * 300]
        wire.sock.close()
    finally:
        if auth:
            auth.stop()


def test_interop_curve_client_refused_by_libzmq_zap(ctx, tmp_path):
    zmq.auth.create_certificates(str(tmp_path), "someone-else")
    auth = ThreadAuthenticator(ctx)
    auth.start()
    try:
        auth.configure_curve(domain="*", location=str(tmp_path))
        spub, ssec = zmq.curve_keypair()
        rep, port = _rep_server(ctx, curve_server=True, curve_secretkey=ssec)
        wire = _connect(port)
        wire.greet(b"CURVE", 0)
        mech = create(b"CURVE", _curve_client_cfg(spub, NACL), False, REQ_META)
        with pytest.raises(ProtocolError, match="ERROR"):
            wire.handshake(mech)
        assert mech.error_reason == "400"
    finally:
        auth.stop()


def test_interop_curve_wrong_server_key_libzmq_drops(ctx):
    spub, ssec = zmq.curve_keypair()
    other_pub, _ = zmq.curve_keypair()
    rep, port = _rep_server(ctx, curve_server=True, curve_secretkey=ssec)
    wire = _connect(port)
    wire.greet(b"CURVE", 0)
    mech = create(b"CURVE", _curve_client_cfg(other_pub, NACL), False, REQ_META)
    with pytest.raises((EOFError, ConnectionError)):
        wire.handshake(mech)


@pytest.mark.parametrize("crypto", [NACL, PureCrypto()], ids=["pynacl", "pure"])
@pytest.mark.parametrize("with_zap", [False, True], ids=["no-zap", "zap"])
def test_interop_curve_server_vs_libzmq_client(ctx, crypto, with_zap):
    server_public, server_secret = crypto.keypair()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    cpub, csec = zmq.curve_keypair()
    req = ctx.socket(zmq.REQ)
    req.linger = 0
    req.rcvtimeo = req.sndtimeo = 5000
    req.curve_serverkey = pyzmq_z85.encode(server_public)
    req.curve_publickey, req.curve_secretkey = cpub, csec
    req.connect("tcp://127.0.0.1:%d" % port)
    conn, _ = listener.accept()
    listener.close()
    wire = Wire(conn)
    wire.greet(b"CURVE", 1)
    cfg = MechanismConfig()
    cfg.curve_server, cfg.curve_secretkey, cfg.crypto = True, server_secret, crypto
    cfg.zap_available = with_zap
    log = []
    mech = create(b"CURVE", cfg, True, REP_META, b"127.0.0.1")
    req.send(b"hello")
    wire.handshake(mech, zap=zap_handler(b"200", b"bob", log=log))
    assert mech.peer_meta[b"socket-type"] == b"REQ"
    assert mech.client_key == pyzmq_z85.decode(cpub)
    if with_zap:
        assert log[0][6:] == [b"CURVE", pyzmq_z85.decode(cpub)]
        assert mech.user_id == b"bob"
    assert wire.recv_curve(mech) == [b"", b"hello"]
    wire.send_curve(mech, [b"", b"world"])
    assert req.recv() == b"world"
    req.send(b"y" * 5000)
    assert wire.recv_curve(mech) == [b"", b"y" * 5000]
    wire.send_curve(mech, [b"", b"z" * 400])
    assert req.recv() == b"z" * 400
    conn.close()


def test_interop_curve_server_refuses_libzmq_client_with_error(ctx):
    server_public, server_secret = NACL.keypair()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    req = ctx.socket(zmq.REQ)
    req.linger = 0
    mon = req.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    cpub, csec = zmq.curve_keypair()
    req.curve_serverkey = pyzmq_z85.encode(server_public)
    req.curve_publickey, req.curve_secretkey = cpub, csec
    req.connect("tcp://127.0.0.1:%d" % port)
    conn, _ = listener.accept()
    listener.close()
    wire = Wire(conn)
    wire.greet(b"CURVE", 1)
    cfg = MechanismConfig()
    cfg.curve_server, cfg.curve_secretkey, cfg.crypto = True, server_secret, NACL
    cfg.zap_available = True
    mech = create(b"CURVE", cfg, True, REP_META, b"127.0.0.1")
    with pytest.raises(ProtocolError, match="refused"):
        wire.handshake(mech, zap=zap_handler(b"400"))
    for body in mech.out:  # the connection sends `out` before closing
        wire.send_command(body)
    assert mon.poll(5000), "libzmq did not report the refusal"
    from zmq.utils.monitor import recv_monitor_message

    event = recv_monitor_message(mon)
    assert event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH and event["value"] == 400
    conn.close()
    mon.close()


@pytest.mark.parametrize("password,ok", [(b"secret", True), (b"wrong", False)])
def test_interop_plain_client_vs_libzmq_server_with_zap(ctx, password, ok):
    auth = ThreadAuthenticator(ctx)
    auth.start()
    try:
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
        rep, port = _rep_server(ctx, plain_server=True)
        wire = _connect(port)
        wire.greet(b"PLAIN", 0)
        cfg = MechanismConfig()
        cfg.plain_username, cfg.plain_password = b"admin", password
        mech = create(b"PLAIN", cfg, False, REQ_META)
        if not ok:
            with pytest.raises(ProtocolError, match="ERROR"):
                wire.handshake(mech)
            assert mech.error_reason == "400"
            return
        wire.handshake(mech)
        assert mech.peer_meta[b"socket-type"] == b"REP"
        wire.send_parts([b"", b"hello"])
        msg = rep.recv(copy=False)
        assert msg.bytes == b"hello" and msg.get("User-Id") == "admin"
        rep.send(b"world")
        assert wire.recv_parts() == [b"", b"world"]
    finally:
        auth.stop()


def test_interop_plain_server_vs_libzmq_client(ctx):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    req = ctx.socket(zmq.REQ)
    req.linger = 0
    req.rcvtimeo = 5000
    req.plain_username, req.plain_password = b"admin", b"secret"
    req.connect("tcp://127.0.0.1:%d" % port)
    conn, _ = listener.accept()
    listener.close()
    wire = Wire(conn)
    wire.greet(b"PLAIN", 1)
    cfg = MechanismConfig()
    cfg.plain_server, cfg.zap_available = True, True
    log = []
    mech = create(b"PLAIN", cfg, True, REP_META, b"127.0.0.1")
    req.send(b"hello")
    wire.handshake(mech, zap=zap_handler(b"200", b"admin", log=log))
    assert log[0][6:] == [b"PLAIN", b"admin", b"secret"]
    assert wire.recv_parts() == [b"", b"hello"]
    wire.send_parts([b"", b"world"])
    assert req.recv() == b"world"
    conn.close()
