"""Mutated PLAIN and CURVE handshakes (from recorded transcripts) only ever
raise ProtocolError."""
import random

from edgezmq.errors import ProtocolError
from edgezmq.ports.cpython.crypto import PyNaclCrypto
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mechanism_kit import CurveKeys, curve_client, curve_server, feed, plain_pair, run


def det_random(seed):
    """A reproducible random source, so a handshake can be replayed exactly."""
    r = random.Random(seed)
    return lambda n: bytes(r.getrandbits(8) for _ in range(n))


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
