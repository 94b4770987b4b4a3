"""The cffi fast paths (ports/cpython/zmtpfast.py) against the pure-Python
reference: byte-identical results on random input, and on only when they
should be (built, and EDGEZMQ_PURE not 1)."""
import glob
import os
import subprocess
import sys

import pytest
from edgezmq.errors import ProtocolError
from edgezmq.patterns import pubsub
from edgezmq.zmtp import frames
from edgezmq.zmtp.frames import FLAG_COMMAND, FLAG_MORE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import ROOT, frame

CPY = os.path.join(ROOT, "ports", "cpython")
zmtpfast = pytest.importorskip("edgezmq.ports.cpython.zmtpfast")


def built_so():
    names = glob.glob(os.path.join(CPY, "_zmtpfast.*.so"))
    return names[0] if names else None


@pytest.fixture(scope="module")
def fast(tmp_path_factory):
    """The compiled module: the installed build, or one made here for the test.
    It scans every read here, however short (a short one is otherwise left to
    the decoder's loop), so that the C scanner meets every stream."""
    if zmtpfast._lib is None and not zmtpfast.load():
        pytest.importorskip("cffi")
        from edgezmq.ports.cpython import _zmtpfast_build

        try:
            so = _zmtpfast_build.build(str(tmp_path_factory.mktemp("zf")))
        except Exception as e:  # noqa: BLE001 - no compiler: nothing to compare
            pytest.skip("cannot build _zmtpfast: %s" % e)
        assert zmtpfast.load(so)
    saved, zmtpfast._MIN_SCAN = zmtpfast._MIN_SCAN, 0
    yield zmtpfast
    zmtpfast._MIN_SCAN = saved


# -- frame decoding --------------------------------------------------------------------
class Recorder:
    """A FrameDecoder sink that writes down everything it is asked and given."""

    def __init__(self):
        self.events = []

    def alloc(self, n):
        self.events.append(("alloc", n))
        return bytearray(n)

    def on_frame(self, flags, buf, n):
        self.events.append(("frame", flags, type(buf).__name__, bytes(buf[:n]), n))


def decode(stream, cuts, scan, limit=-1, command_limit=65536 + 64):
    """Feed stream in pieces cut at `cuts` with the given scanner; -> events."""
    saved = frames._scan
    frames.install(scan_fn=scan)
    try:
        rec = Recorder()
        dec = frames.FrameDecoder(rec, limit, command_limit)
        data = bytearray(stream)
        bounds = [0] + sorted(set(c for c in cuts if 0 < c < len(data))) + [len(data)]
        try:
            for a, b in zip(bounds, bounds[1:]):
                dec.feed(data, a, b)
        except ProtocolError as e:
            rec.events.append(("error", str(e)))
        return rec.events
    finally:
        frames.install(scan_fn=saved)


def long_frame(flags, body):
    """A frame with the 8-byte size even when short (libzmq accepts that)."""
    return bytes((flags | frames.FLAG_LONG,)) + len(body).to_bytes(8, "big") + body


sizes = st.one_of(st.integers(0, 40), st.integers(250, 300), st.sampled_from([0, 255, 256, 65536, 70001]))
one_frame = st.tuples(st.sampled_from([0, FLAG_MORE, FLAG_COMMAND, FLAG_COMMAND | FLAG_MORE]), sizes, st.booleans())


@st.composite
def streams(draw):
    out = b""
    for flags, size, force_long in draw(st.lists(one_frame, max_size=12)):
        body = bytes((i * 7 + size) & 0xFF for i in range(size))
        out += long_frame(flags, body) if force_long else frame(flags, body)
    if draw(st.booleans()):
        out += draw(st.binary(max_size=12))  # garbage or a cut-off frame at the end
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=streams(), cuts=st.lists(st.integers(0, 200000), max_size=6),
       limit=st.sampled_from([-1, 0, 40, 300, 65536]), command_limit=st.sampled_from([30, 65600]))
def test_scan_gives_what_the_pure_decoder_gives(fast, stream, cuts, limit, command_limit):
    args = (limit, command_limit)
    assert decode(stream, cuts, fast.scan, *args) == decode(stream, cuts, None, *args)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=streams())
def test_scan_matches_pure_split_at_every_offset(fast, stream):
    stream = stream[:600]
    for cut in range(len(stream) + 1):
        assert decode(stream, [cut], fast.scan) == decode(stream, [cut], None), cut


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=64), cuts=st.lists(st.integers(0, 64), max_size=4))
def test_scan_matches_pure_on_random_bytes(fast, data, cuts):
    assert decode(data, cuts, fast.scan) == decode(data, cuts, None)


def test_scan_batches_more_frames_than_one_call_holds(fast):
    stream = b"".join(frame(i & 1, bytes([i & 0xFF]) * (i % 5)) for i in range(3 * fast._BATCH + 7))
    events = decode(stream, [], fast.scan)
    assert len(events) == 3 * fast._BATCH + 7
    assert events == decode(stream, [], None)


def test_scan_refuses_a_size_over_2_63(fast):
    bad = b"\x02\x80" + b"\x00" * 7 + b"xyz"
    events = decode(frame(0, b"ok") + bad, [], fast.scan)
    assert events == decode(frame(0, b"ok") + bad, [], None)
    assert events[-1][0] == "error" and "2**63" in events[-1][1]


# -- subscription matching ----------------------------------------------------------------
topic = st.binary(min_size=0, max_size=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subs=st.lists(topic, min_size=0, max_size=20), drop=st.lists(topic, max_size=5),
       msgs=st.lists(st.binary(max_size=8), min_size=1, max_size=10))
def test_match_gives_what_the_pure_match_gives(fast, subs, drop, msgs):
    answers = {}
    for fn in (fast.match, None):
        t = pubsub.Topics()
        for s in subs:
            t.add(s)
        saved = pubsub._match
        pubsub.install(match_fn=fn)
        try:
            got = []
            for m in msgs:
                got.append(t.match(m))
                got.append(t.match(memoryview(bytearray(m))))
            for d in drop:  # the packed table must follow changes
                t.remove(d)
                got.extend(t.match(m) for m in msgs)
                t.add(d[::-1])
                got.extend(t.match(m) for m in msgs)
        finally:
            pubsub.install(match_fn=saved)
        answers[fn is None] = got
    assert answers[True] == answers[False]


# -- on when built, off with EDGEZMQ_PURE=1 ------------------------------------------------
PROBE = (
    "import edgezmq; from edgezmq.zmtp import frames; from edgezmq.patterns import pubsub;"
    "from edgezmq.ports.cpython import zmtpfast; c = edgezmq.Context(io_threads=0);"
    "print(frames._scan is zmtpfast.scan, pubsub._match is zmtpfast.match, c.port.fast); c.term()"
)


def probe(pure):
    env = dict(os.environ)
    env.pop("EDGEZMQ_PURE", None)
    if pure:
        env["EDGEZMQ_PURE"] = "1"
    r = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


@pytest.mark.skipif(built_so() is None, reason="_zmtpfast not built (make installs it when a compiler is there)")
def test_fast_paths_are_active_when_built():
    if os.environ.get("EDGEZMQ_PURE") == "1":
        assert frames._scan is None and pubsub._match is None
    else:
        import edgezmq

        ctx = edgezmq.Context(io_threads=0)
        try:
            assert ctx.port.fast
        finally:
            ctx.term()
        assert frames._scan is zmtpfast.scan and pubsub._match is zmtpfast.match
    assert probe(pure=False) == ["True", "True", "True"]


def test_edgezmq_pure_keeps_the_pure_paths():
    assert probe(pure=True) == ["False", "False", "False"]
    if os.environ.get("EDGEZMQ_PURE") == "1":
        assert frames._scan is None and pubsub._match is None
