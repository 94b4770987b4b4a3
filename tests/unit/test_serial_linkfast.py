"""The cffi fast path of the serial link (ports/cpython/linkfast.py) gives the
pure-Python bytes, and a Link runs on it."""
import os
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st
from linksim import Endpoint, Sim
from serial_kit import F, make, stuffed
from support import ROOT

# -- the cffi fast path gives the same bytes ---------------------------------------------


def _load(name, path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def linkfast(tmp_path_factory):
    pytest.importorskip("cffi")
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler")
    ports = os.path.join(ROOT, "ports", "cpython")
    build = _load("_linkfast_build", os.path.join(ports, "_linkfast_build.py"))
    so = build.build(str(tmp_path_factory.mktemp("linkfast")))
    fast = _load("linkfast_under_test", os.path.join(ports, "linkfast.py"))
    assert fast.load(so)
    return fast


@given(data=st.binary(max_size=700), lead=st.integers(0, 9), room=st.integers(0, 1500))
def test_cffi_stuff_matches_pure(linkfast, data, lead, room):
    src = b"\x7e" * lead + data
    want = bytearray(room + 2 * len(src))
    got = bytearray(room + 2 * len(src))
    n1 = F.stuff(src, lead, len(src), memoryview(want), room)
    n2 = linkfast.stuff(src, lead, len(src), memoryview(got), room)
    assert n1 == n2 and want == got


@given(data=st.binary(max_size=700).map(lambda b: b.replace(b"\x7e", b"")),
       cap=st.integers(0, 800), dpos=st.integers(0, 5))
def test_cffi_unstuff_matches_pure_even_on_bad_input(linkfast, data, cap, dpos):
    for src in (data, stuffed(data)):
        want = bytearray(cap + dpos)
        got = bytearray(cap + dpos)
        r1 = F.unstuff(src, 0, len(src), memoryview(want), dpos)
        r2 = linkfast.unstuff(src, 0, len(src), memoryview(got), dpos)
        assert r1 == r2
        if r1 >= 0:
            assert want[:r1] == got[:r1]


def test_link_runs_on_the_cffi_fast_path(linkfast):
    orig = (F.stuff, F.unstuff, F.crc32)
    try:
        assert linkfast.install()
        assert F.stuff is linkfast.stuff
        from linksim import Faults

        a = Endpoint(make(mtu=512), "a", seed=1, streams=2, total=30000, reply=10000)
        b = Endpoint(make(mtu=512), "b", seed=2, streams=1, total=20000, reply=10000)
        f = Faults(ber=1e-4, drop=1e-4, garbage_per_s=3)
        sim = Sim(a, b, faults_ab=f, faults_ba=f, seed=4)
        assert sim.run(200000, until=sim.settled)
        assert sim.check() == (6, 0)
        assert a.link.stats["resets"] == 0 and b.link.stats["crc_errors"] > 0
    finally:
        F.install(*orig)
