"""Shared fixtures: a pyzmq (real libzmq) context, edgezmq contexts (the MicroPython ones are in micropython/conftest.py)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import ROOT, VENV_BIN, micropython_binary  # noqa: E402,F401


@pytest.fixture
def pz():
    zmq = pytest.importorskip("zmq")
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture(params=["thread", "cooperative"])
def ez(request):
    import edgezmq

    ctx = edgezmq.Context(io_threads=1 if request.param == "thread" else 0)
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def ezctx():
    import edgezmq

    ctx = edgezmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def pytest_configure(config):
    # the port installs the cffi fast paths when built (not with EDGEZMQ_PURE=1),
    # so tests of the core's pieces without a Context use them too
    from edgezmq.ports import default_port

    default_port()
    config.addinivalue_line("markers", "soak: long runs, only with --run-soak")
    config.addinivalue_line("markers", "micropython: runs the MicroPython unix port")
    config.addinivalue_line(
        "markers", "fastpath: exercises code the cffi fast paths replace (frame scanning, topic "
        "matching, serial stuffing/CRC); `make test` runs these again with EDGEZMQ_PURE=1")


def pytest_addoption(parser):
    parser.addoption("--run-soak", action="store_true", default=False)


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-soak"):
        return
    skip = pytest.mark.skip(reason="soak test: run with make soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
