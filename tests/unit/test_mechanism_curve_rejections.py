"""CURVE (sans-IO) rejections, after libzmq's test_security_curve: bad HELLO,
INITIATE, WELCOME and READY, wrong or garbage keys, INITIATE metadata bounds."""

import pytest
from edgezmq.errors import ProtocolError
from edgezmq.security import create
from edgezmq.security.mechanism import MechanismConfig
from edgezmq.zmtp import metadata
from mechanism_kit import NACL, CurveKeys, curve_client, curve_ready, curve_server, run
from zmq.utils import z85 as pyzmq_z85

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
