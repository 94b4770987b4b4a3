"""Building PLAIN and CURVE mechanisms and driving their sans-IO handshakes, for
the mechanism tests in unit/, interop/ and micropython/."""

import pytest
import zmq
import zmq.auth
from edgezmq.ports.cpython.crypto import PyNaclCrypto
from edgezmq.security import create
from edgezmq.security.mechanism import MechanismConfig

NACL = PyNaclCrypto()
REQ_META = [(b"Socket-Type", b"REQ"), (b"Identity", b"")]
REP_META = [(b"Socket-Type", b"REP")]


# --- building mechanisms ---------------------------------------------------


def plain_pair(zap=True, username=b"admin", password=b"secret"):
    sc = MechanismConfig()
    sc.plain_server = True
    sc.zap_available = zap
    sc.zap_domain = b"global"
    sc.routing_id = b"IDENT"
    cc = MechanismConfig()
    cc.plain_username = username
    cc.plain_password = password
    client = create(b"PLAIN", cc, False, REQ_META)
    server = create(b"PLAIN", sc, True, REP_META, b"127.0.0.1")
    return client, server


class CurveKeys:
    def __init__(self, crypto=NACL):
        self.server_public, self.server_secret = crypto.keypair()
        self.client_public, self.client_secret = crypto.keypair()


def curve_server(keys, crypto=NACL, zap=False):
    sc = MechanismConfig()
    sc.curve_server = True
    sc.curve_secretkey = keys.server_secret
    sc.zap_available = zap
    sc.zap_domain = b"global"
    sc.routing_id = b"IDENT"
    sc.crypto = crypto
    return create(b"CURVE", sc, True, REP_META, b"10.0.0.7")


def curve_client(keys, crypto=NACL, server_key=None, public=None, secret=None):
    cc = MechanismConfig()
    cc.curve_serverkey = server_key if server_key is not None else keys.server_public
    cc.curve_publickey = public if public is not None else keys.client_public
    cc.curve_secretkey = secret if secret is not None else keys.client_secret
    cc.crypto = crypto
    return create(b"CURVE", cc, False, REQ_META)


def zap_handler(status=b"200", user_id=b"alice", meta=b"", text=b"OK", log=None):
    """A fake ZAP handler: answers every request with `status`."""

    def handle(frames):
        if log is not None:
            log.append(list(frames))
        return [b"", b"1.0", frames[2], status, text, user_id, meta]

    return handle


def run(client, server, zap=None, transcript=None):
    """Pass commands both ways until both are ready (or one raises)."""
    if zap is None:
        zap = zap_handler(b"200", b"")  # a handler that lets everyone in
    client.start()
    server.start()
    for _ in range(10):
        if client.ready and server.ready and not client.out and not server.out:
            return transcript
        while client.out:
            body = client.out.pop(0)
            if transcript is not None:
                transcript.append(("c", body))
            server.on_command(body)
            if server.zap_request is not None:
                req, server.zap_request = server.zap_request, None  # as the connection does
                server.on_zap_reply(zap(req))
        while server.out:
            body = server.out.pop(0)
            if transcript is not None:
                transcript.append(("s", body))
            client.on_command(body)
    raise AssertionError("handshake did not converge")


# --- PLAIN -----------------------------------------------------------------


def feed(server, body):
    """on_command, then answer a pending ZAP request with 200 (as a handler would)."""
    server.on_command(body)
    if server.zap_request is not None:
        req, server.zap_request = server.zap_request, None
        server.on_zap_reply([b"", b"1.0", req[2], b"200", b"OK", b"", b""])


# --- CURVE: handshakes -------------------------------------------------------


def curve_ready(crypto_c=NACL, crypto_s=NACL, zap=None, keys=None):
    keys = keys or CurveKeys()
    client = curve_client(keys, crypto_c)
    server = curve_server(keys, crypto_s, zap=zap is not None)
    tr = run(client, server, zap=zap, transcript=[])
    return client, server, keys, tr


@pytest.fixture(name="ctx")
def ctx_fixture():
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


def _rep_server(ctx, **opts):
    rep = ctx.socket(zmq.REP)
    rep.linger = 0
    rep.rcvtimeo = rep.sndtimeo = 5000
    for k, v in opts.items():
        setattr(rep, k, v)
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    return rep, port
