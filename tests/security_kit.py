"""Both ends of a secured connection behind one interface (edgezmq in this
process, libzmq with its ZAP authenticator in tests/peers/pyzmq_auth_peer.py),
keys, certificates and fixtures for the security tests in interop/ and
micropython/. Everything listens on 127.0.0.1 and every wait is bounded."""
import os
import subprocess
import sys

import edgezmq as ez
import pytest
from edgezmq import z85
from edgezmq.auth import create_certificates
from edgezmq.ports.cpython.crypto import PyNaclCrypto
from peers import remote

AUTH_PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers", "pyzmq_auth_peer.py")
NACL = PyNaclCrypto()


def _pair():
    pk, sk = NACL.keypair()
    return pk, sk


SERVER = _pair()
CLIENT = _pair()
STRANGER = _pair()  # a client key no certificate vouches for


class AuthPeer(remote.Peer):
    """remote.Peer running the peer script with the ZAP command."""

    def __init__(self):
        self.pump = None
        self.log = []
        self.p = subprocess.Popen([sys.executable, AUTH_PEER], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, bufsize=1)
        while not self._read().get("ready"):
            pass
        self.n = 0

    def auth(self, **kw):
        r = self.call("auth", **kw)
        assert r.get("ok"), r


@pytest.fixture(name="peer")
def peer_fixture():
    p = AuthPeer()
    yield p
    p.close()


@pytest.fixture(name="ctx")
def ctx_fixture():
    c = ez.Context(io_threads=1)
    c.log = lambda *a: None  # refused handshakes are expected here
    yield c
    c.destroy(linger=0)


@pytest.fixture(name="certs")
def certs_fixture(tmp_path):
    """A directory holding the good client's public certificate only."""
    d = tmp_path / "certs"
    d.mkdir()
    create_certificates(str(d), "client", keypair=(z85.encode(CLIENT[0]), z85.encode(CLIENT[1])))
    os.remove(str(d / "client.key_secret"))  # the server side holds public keys only
    return str(d)


# --- both ends behind one interface -------------------------------------------


def sec_opts(mech, role, good=True):
    """Socket options for a server, a good client, or a bad one."""
    if mech == "PLAIN":
        if role == "server":
            return {"plain_server": 1}
        return {"plain_username": b"admin", "plain_password": b"secret" if good else b"wrong"}
    if role == "server":
        return {"curve_server": 1, "curve_secretkey": SERVER[1], "curve_publickey": SERVER[0]}
    pk, sk = CLIENT if good else STRANGER
    return {"curve_serverkey": SERVER[0], "curve_publickey": pk, "curve_secretkey": sk}


class Local:
    def __init__(self, ctx, stype, opts):
        self.s = ctx.socket(getattr(ez, stype))
        self.s.linger = 0
        self.s.sndtimeo = 3000
        for k, v in opts.items():
            self.s.setsockopt(getattr(ez, k.upper()), v)

    def bind(self):
        self.s.bind("tcp://127.0.0.1:*")
        return self.s.last_endpoint.decode()

    def connect(self, ep):
        self.s.connect(ep)

    def subscribe(self, topic):
        self.s.subscribe(topic)

    def send(self, parts):
        self.s.send_multipart(parts)

    def recv(self, timeout=3000):
        if not self.s.poll(timeout):
            return None
        return self.s.recv_multipart()

    def close(self):
        self.s.close(0)


class Remote:
    def __init__(self, peer, stype, opts):
        self.r = peer.socket(stype, **opts)

    def bind(self):
        return self.r.bind("tcp://127.0.0.1:*")

    def connect(self, ep):
        self.r.connect(ep)

    def subscribe(self, topic):
        self.r.setopt("SUBSCRIBE", topic)

    def send(self, parts):
        self.r.send(parts)

    def recv(self, timeout=3000):
        return self.r.recv(timeout)

    def close(self):
        self.r.close()


PATTERNS = {"REQ-REP": ("REQ", "REP"), "PUSH-PULL": ("PUSH", "PULL"), "PUB-SUB": ("SUB", "PUB")}


def _pz_sock(pz, stype, mech, role, good=True):
    import zmq

    s = pz.socket(getattr(zmq, stype))
    s.linger = 0
    s.rcvtimeo = s.sndtimeo = 30000
    for k, v in sec_opts(mech, role, good).items():
        setattr(s, k, v)
    return s
