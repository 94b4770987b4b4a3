"""Big bodies received into the bytes recv() returns (ports/cpython/bigbodies.py):
the same frames as the bytearray path, whatever the chunking, and bytes
objects that behave as bytes."""
import pytest
from edgezmq.pool import FramePool
from edgezmq.zmtp.frames import FrameDecoder
from hypothesis import given, settings
from hypothesis import strategies as st
from support import frame

zmtpfast = pytest.importorskip("edgezmq.ports.cpython.zmtpfast")
from edgezmq.ports.cpython import bigbodies  # noqa: E402


@pytest.fixture(scope="module")
def ffi():
    if zmtpfast._ffi is None and not zmtpfast.load():
        pytest.skip("the cffi extension is not built")
    was = bool(bigbodies._saved)
    yield zmtpfast._ffi
    if was:  # as the rest of the session found it
        bigbodies.install(zmtpfast._ffi)


class PoolSink:
    """A connection's part of the decoder contract: bodies from a small pool."""

    def __init__(self):
        self.pool = FramePool(2, 64)
        self.got = []

    def alloc(self, n):
        return self.pool.take(n)

    def on_frame(self, flags, buf, n):
        self.got.append((flags, type(buf), bytes(memoryview(buf)[:n])))


def decode(data, cuts, direct):
    """Feed data in pieces of the given sizes; with `direct`, read what a
    body still lacks straight into body_view() as the stream engine does."""
    s = PoolSink()
    d = FrameDecoder(s)
    pos = i = 0
    while pos < len(data):
        n = cuts[i % len(cuts)]
        i += 1
        view = d.body_view(8) if direct else None
        if view is not None:
            k = min(n, len(view))
            view[:k] = data[pos : pos + k]
            d.body_filled(k)
        else:
            k = min(n, len(data) - pos)
            d.feed(data[pos : pos + k], 0, k)
        pos += k
    return s.got


frames_st = st.lists(st.tuples(st.sampled_from([0, 1]), st.binary(min_size=0, max_size=700)), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(frames_st, st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=12), st.booleans())
def test_big_bodies_match_the_bytearray_path(ffi, frs, cuts, direct):
    data = b"".join(frame(f, b) for f, b in frs)
    bigbodies.uninstall()
    plain = decode(data, cuts, direct)
    assert bigbodies.install(ffi)
    try:
        fast = decode(data, cuts, direct)
    finally:
        bigbodies.uninstall()
    assert [(f, b) for f, _, b in fast] == [(f, b) for f, _, b in plain] == [(f, b) for f, b in frs]
    for (_, t, b), (_, pt, _) in zip(fast, plain):
        if len(b) > 64 and pt is bytearray:  # a heap body: now the bytes object itself
            assert t is bytes


def test_new_bytes_are_independent_and_hash_as_bytes(ffi):
    assert bigbodies.install(ffi)
    try:
        a, b = bigbodies.new_bytes(100), bigbodies.new_bytes(100)
        memoryview(bigbodies.writable(a))[:] = b"a" * 100
        memoryview(bigbodies.writable(b))[:] = b"b" * 100
        assert a == b"a" * 100 and b == b"b" * 100
        assert {a: 1}[b"a" * 100] == 1
    finally:
        bigbodies.uninstall()
