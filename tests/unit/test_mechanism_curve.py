"""CURVE (sans-IO) handshakes: sizes, metadata, nonces, replays, ZAP verdicts,
pure-Python crypto against pynacl."""

import pytest
from edgezmq.errors import ProtocolError
from edgezmq.ports.micropython.nacl_pure import PureCrypto
from edgezmq.security.curve import CurveMechanism
from edgezmq.zmtp import metadata
from mechanism_kit import (
    NACL,
    REP_META,
    REQ_META,
    CurveKeys,
    curve_client,
    curve_ready,
    curve_server,
    run,
    zap_handler,
)


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
