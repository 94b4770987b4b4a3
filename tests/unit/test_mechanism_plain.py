"""PLAIN (sans-IO): handshakes, ZAP verdicts and the commands a server or client refuses."""

import pytest
from edgezmq.errors import ProtocolError
from edgezmq.security.plain import PlainMechanism
from edgezmq.zmtp import metadata
from mechanism_kit import REP_META, REQ_META, feed, plain_pair, run, zap_handler


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
