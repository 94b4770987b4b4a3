"""pytest plugin for tests/pyzmq_suite/run.py: skips pyzmq's tests of its C
extension itself, each with the reason. Everything else runs and counts."""
import pytest

# test id suffix -> why it cannot apply to a pure-Python implementation
SKIPS = {
    "test_message.py::TestFrame::test_above_30": "zero-copy refcounts of libzmq's gc thread (zmq.utils.garbage): edgezmq copies",
    "test_message.py::TestFrame::test_lifecycle1": "zero-copy refcounts of libzmq's gc thread (zmq.utils.garbage): edgezmq copies",
    "test_message.py::TestFrame::test_lifecycle2": "zero-copy refcounts of libzmq's gc thread (zmq.utils.garbage): edgezmq copies",
}


def pytest_collection_modifyitems(items):
    for item in items:
        for suffix, why in SKIPS.items():
            if item.nodeid.endswith(suffix):
                item.add_marker(pytest.mark.skip(reason="C extension only: " + why))
