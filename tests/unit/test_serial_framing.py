"""Serial link framing: CRC-32 and byte-stuffing vectors, the deframer under
any chunking and garbage, and install() swapping the fast path in."""
import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st
from serial_kit import F, stuffed

pytestmark = pytest.mark.fastpath  # the serial link's byte stuffing and CRC: also run with EDGEZMQ_PURE=1


def decode_all(stream, max_body=2048, chunks=None):
    """Run a Deframer over stream (split at the given cut points) -> results."""
    d = F.Deframer(max_body)
    out = []
    cuts = sorted(set(c for c in (chunks or ()) if 0 < c < len(stream)))
    start = 0
    for stop in cuts + [len(stream)]:
        pos = start
        while pos < stop:
            pos = d.feed(stream, pos, stop)
            if d.result > 0:
                out.append(bytes(d.buf[: d.result]))
            elif d.result < 0:
                out.append(d.result)
        start = stop
    return out


# -- CRC and byte stuffing ---------------------------------------------------


def test_crc32_vectors():
    assert F.crc32(b"123456789") == 0xCBF43926
    assert F.crc32_py(b"123456789") == 0xCBF43926
    assert F.crc32_py(b"") == 0
    assert F.crc32_py(b"6789", F.crc32_py(b"12345")) == 0xCBF43926
    body = b"\x10\x00\x05\x03hi~}"
    framed = body + F.crc32(body).to_bytes(4, "little")
    assert F.crc32(framed) == F.CRC_RESIDUE


@given(st.binary(max_size=600), st.integers(0, 0xFFFFFFFF))
def test_crc32_py_matches_binascii(data, seed):
    assert F.crc32_py(data, seed) == binascii.crc32(data, seed)


def test_stuff_vectors():
    assert stuffed(b"") == b""
    assert stuffed(b"\x7e") == b"\x7d\x5e"
    assert stuffed(b"\x7d") == b"\x7d\x5d"
    assert stuffed(b"a\x7e\x7d\x7e\x7eb") == b"a\x7d\x5e\x7d\x5d\x7d\x5e\x7d\x5eb"
    assert stuffed(b"\x00\x20\x5d\x5e\xff") == b"\x00\x20\x5d\x5e\xff"


def test_unstuff_errors():
    dst = memoryview(bytearray(8))
    assert F.unstuff(b"ab\x7d\x5ec", 0, 5, dst, 0) == 4
    assert bytes(dst[:4]) == b"ab\x7ec"
    assert F.unstuff(b"a\x7d\x41", 0, 3, dst, 0) == -1  # ESC then a byte that was not escaped
    assert F.unstuff(b"a\x7d", 0, 2, dst, 0) == -1  # ESC at the end
    assert F.unstuff(b"\x7d\x7d", 0, 2, dst, 0) == -1
    assert F.unstuff(b"0123456789", 0, 10, dst, 0) == -2  # too long for dst
    assert F.unstuff(b"0123456\x7d\x5d\x7d\x5d", 0, 11, dst, 0) == -2


@given(st.binary(max_size=1200), st.integers(0, 50))
def test_stuff_unstuff_round_trip(data, lead):
    s = stuffed(data)
    assert b"\x7e" not in s
    assert len(s) == len(data) + data.count(b"\x7e") + data.count(b"\x7d")
    src = b"x" * lead + s
    dst = bytearray(len(data) + 3)
    n = F.unstuff(src, lead, len(src), memoryview(dst), 3)
    assert n == len(data) + 3 and bytes(dst[3:n]) == data


def test_worked_example_from_the_spec():
    body = bytes([0x10, 0x00, 0x05, 0x03]) + b"hi~}"
    wire = bytes.fromhex("7e 10 00 05 03 68 69 7d 5e 7d 5d 9b 73 68 28 7e")
    assert F.encode_frame(body) == wire
    assert decode_all(wire) == [body]
    assert F.encode_frame(bytes([0x02, 0, 6, 6])) == bytes.fromhex("7e 02 00 06 06 24 15 74 34 7e")


# -- Deframer --------------------------------------------------------------------


def test_deframer_results():
    good = F.encode_frame(b"\x02\x00\x00\x00")
    assert decode_all(good) == [b"\x02\x00\x00\x00"]
    assert decode_all(b"\x7e\x7e\x7e") == []  # idle flags are not frames
    assert decode_all(b"\x7e\x01\x02\x7e") == [F.BAD_FRAME]  # runt
    assert decode_all(b"\x7e\x02\x00\x00\x00\x00\x00\x00\x00\x7e") == [F.CRC_ERROR]
    assert decode_all(b"\x7e\x02\x00\x7d\x7e") == [F.ABORTED]
    assert decode_all(b"\x7e\x02\x7d\x41\x00\x7e") == [F.BAD_FRAME]
    big = F.encode_frame(bytes(300))
    assert decode_all(big, max_body=100) == [F.BAD_FRAME]
    # after garbage, an abort or an oversized frame, the next frame still decodes
    stream = b"junk" + big + b"\x7e\x02\x00\x7d\x7e" + good
    assert decode_all(stream, max_body=100) == [F.BAD_FRAME, F.BAD_FRAME, F.ABORTED, b"\x02\x00\x00\x00"]


bodies = st.lists(st.binary(min_size=4, max_size=300), min_size=1, max_size=8)


@given(bodies, st.lists(st.integers(0, 4000), max_size=30))
def test_frames_survive_any_chunking(frames, cuts):
    stream = b"".join(F.encode_frame(b) for b in frames)
    assert decode_all(stream) == frames
    assert decode_all(stream, chunks=cuts) == frames
    assert decode_all(stream, chunks=range(len(stream))) == frames  # byte by byte


@given(st.binary(max_size=400), bodies)
def test_garbage_never_breaks_the_next_frames(garbage, frames):
    stream = garbage + b"".join(F.encode_frame(b) for b in frames)
    good = [r for r in decode_all(stream) if not isinstance(r, int)]
    assert good[-len(frames):] == frames


def test_encoder_abort_mid_escape():
    fe = F.FrameEncoder(16)
    fe.begin()
    fe.add(b"\x10\x00\x00\x00~", 0, 5)
    fe.finish()
    v = bytes(fe.pending())
    k = v.index(0x7D) + 1  # the line took the ESC of the escaped FLAG
    fe.consume(k)
    assert fe.abort()
    rest = bytes(fe.pending())
    assert rest == b"\x7e"  # ESC already out: FLAG completes the abort sequence
    assert decode_all(v[:k] + rest) == [F.ABORTED]
    fe.consume(len(rest))
    assert fe.idle()


def test_install_swaps_the_fast_path_for_every_caller():
    calls = []
    orig = (F.stuff, F.unstuff, F.crc32)

    def spy_stuff(*a):
        calls.append("s")
        return orig[0](*a)

    def spy_unstuff(*a):
        calls.append("u")
        return orig[1](*a)

    def spy_crc(*a):
        calls.append("c")
        return orig[2](*a)

    try:
        F.install(spy_stuff, spy_unstuff, spy_crc)
        wire = F.encode_frame(b"\x10\x00\x05\x03hi~}")
        assert decode_all(wire) == [b"\x10\x00\x05\x03hi~}"]
    finally:
        F.install(*orig)
    assert {"s", "u", "c"} <= set(calls)
    assert F.stuff is orig[0] and F.crc32 is orig[2]
