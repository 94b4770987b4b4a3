"""CURVE boxes in C (ports/cpython/boxruns.py) against CurveMechanism's own
encode and decode: the same frames go out, the same data comes in, the same
nonces are used up, and a run stops exactly before the box that decode must
judge itself (a forgery, a replay, a boxed command, not a MESSAGE)."""
import array

import pytest
from edgezmq.errors import ProtocolError
from edgezmq.ports.micropython.nacl_pure import PureCrypto
from edgezmq.zmtp.frames import header
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mechanism_kit import curve_ready

zmtpfast = pytest.importorskip("edgezmq.ports.cpython.zmtpfast")
from edgezmq.ports.cpython import boxruns  # noqa: E402 (after the skip: needs cffi)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module", autouse=True)
def c_boxes():
    """The C boxes, installed for this module when the run has not (EDGEZMQ_PURE=1)."""
    if boxruns._lib is not None:
        yield
        return
    if (zmtpfast._lib is None and not zmtpfast.load()) or not boxruns.install(zmtpfast._ffi, zmtpfast._lib):
        pytest.skip("_zmtpfast or pynacl's cffi module not there")
    yield
    boxruns.uninstall()


def reference_frame(mech, flags, data):
    """The frame Connection._send writes from encode()."""
    body = mech.encode(flags, data)
    return header(0, len(body)) + body


def sealed(mech, flags, data):
    tx = bytearray(b"queued")
    assert boxruns.seal_into(mech, tx, flags, data)
    assert tx[:6] == b"queued"
    return bytes(tx[6:])


sizes = st.one_of(st.integers(0, 40), st.integers(220, 226), st.sampled_from([1024, 70000]))


@SETTINGS
@given(msgs=st.lists(st.tuples(st.integers(0, 3), sizes, st.sampled_from([bytes, bytearray, memoryview])),
                     min_size=1, max_size=6))
def test_a_sealed_frame_is_the_frame_encode_gives(msgs):
    client, server, _, _ = curve_ready()
    for flags, size, kind in msgs:
        data = bytes((i * 5 + size) & 0xFF for i in range(size))
        n = client._nonce
        got = sealed(client, flags, kind(data))
        assert client._nonce == n + 1
        client._nonce = n
        assert got == reference_frame(client, flags, data)
        hdr = 2 if got[0] == 0 else 9
        assert server.decode(got[hdr:]) == (flags & 3, data)


def test_a_buffer_of_wider_items_is_sealed_whole_and_a_strided_one_left_to_encode():
    client, server, _, _ = curve_ready()
    a = array.array("i", range(300))  # 1,200 bytes, 300 items
    for data in (a, memoryview(a)):
        n = client._nonce
        got = sealed(client, 0, data)
        client._nonce = n
        assert got == reference_frame(client, 0, a.tobytes())
        assert server.decode(got[9:]) == (0, a.tobytes())
    tx = bytearray()
    assert not boxruns.seal_into(client, tx, 0, memoryview(b"abcdef")[::2]) and not tx


def boxes(client, plan):
    """MESSAGE bodies from client, one per step of plan; a fault where it says."""
    out = []
    for i, (what, size) in enumerate(plan):
        data = bytes((i + k) & 0xFF for k in range(size))
        if what == "replay" and out:
            out.append(out[-1])
            continue
        body = bytearray(client.encode(2 if what == "command" else i & 1, data))
        if what == "forged":
            body[-1] ^= 1
        elif what == "not-message":
            body[1] = ord("X")
        elif what == "short":
            body = body[:32]
        out.append(bytes(body))
    return out


def reference_run(server, bodies):
    """What decode gives box by box up to the first it refuses or that holds a
    command (that one left unopened: the connection decodes it in its turn)."""
    fl, bo = [], []
    for b in bodies:
        before = server._peer_nonce
        try:
            f, data = server.decode(b)
        except ProtocolError:
            break
        if f & 2:
            server._peer_nonce = before
            break
        fl.append(f & 1)
        bo.append(bytes(data))
    return fl, bo


step = st.tuples(st.sampled_from(["ok"] * 6 + ["forged", "replay", "command", "not-message", "short"]), sizes)


@SETTINGS
@given(plan=st.lists(step, min_size=1, max_size=10), split=st.integers(0, 10))
def test_a_run_opens_what_decode_opens_and_stops_where_it_must(plan, split):
    client, server, _, _ = curve_ready()
    bodies = boxes(client, plan)
    start = server._peer_nonce
    fl, bo = reference_run(server, bodies)
    expected_nonce = server._peer_nonce
    server._peer_nonce = start
    got_fl, got_bo, got_si = [0], [b"before"], [6]  # appended to, as the connection's lists
    first, second = bodies[:split], bodies[split:]  # two runs: the state carries over
    j = boxruns.decode_run(server, first, [len(b) for b in first], got_fl, got_bo, got_si) if first else 0
    if j == len(first) and second:
        j += boxruns.decode_run(server, second, [len(b) for b in second], got_fl, got_bo, got_si)
    assert j == len(fl)
    assert got_fl[1:] == fl and got_bo[1:] == bo and got_si[1:] == [len(b) for b in bo]
    assert all(type(b) is bytes for b in got_bo)
    assert server._peer_nonce == expected_nonce
    if j < len(bodies) and plan[j][0] == "command":  # decode still takes the boxed command
        assert server.decode(bodies[j])[0] == 2


def test_pure_crypto_and_a_handshake_not_done_take_the_reference_path():
    client, server, _, _ = curve_ready(crypto_c=PureCrypto(), crypto_s=PureCrypto())
    body = client.encode(0, b"x")
    assert boxruns.decode_run(server, [body], [len(body)], [], [], []) == 0
    assert not boxruns.seal_into(client, bytearray(), 0, b"x")
    assert server.decode(body) == (0, b"x")

    client, server, _, _ = curve_ready()
    state = client._state
    client._state = state - 1  # before READY: nothing kept, nothing sealed
    assert not boxruns.seal_into(client, bytearray(), 0, b"x")
    client._state = state
    assert server.decode(sealed(client, 1, b"now")[2:]) == (1, b"now")


def test_the_last_nonce_is_left_to_encode_which_refuses_it():
    client, _, _, _ = curve_ready()
    client._nonce = (1 << 64) - 1
    tx = bytearray()
    assert not boxruns.seal_into(client, tx, 0, b"x") and not tx
    with pytest.raises(ProtocolError, match="exhausted"):
        client.encode(0, b"x")
