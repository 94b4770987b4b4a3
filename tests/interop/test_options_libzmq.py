"""The option table of tests/option_cases.py is libzmq's: every case run on a
pyzmq socket. (unit/test_options.py holds core/options.py to the same table.)"""
import pytest
from option_cases import DEFAULTS, MECHANISMS, SETS, mechanism_id, set_id, value_of

zmq = pytest.importorskip("zmq")


@pytest.mark.parametrize("case", SETS, ids=set_id)
def test_libzmq_accepts_or_refuses(pz, case):
    name, value, ok = case
    s = pz.socket(zmq.REQ)
    try:
        if ok:
            s.setsockopt(getattr(zmq, name.upper()), value_of(value))
        else:
            with pytest.raises(zmq.ZMQError) as e:
                s.setsockopt(getattr(zmq, name.upper()), value_of(value))
            assert e.value.errno == zmq.EINVAL
    finally:
        s.close(0)


@pytest.mark.parametrize("case", MECHANISMS, ids=mechanism_id)
def test_libzmq_mechanism(pz, case):
    steps, want = case
    s = pz.socket(zmq.REQ)
    try:
        for name, value in steps:
            s.setsockopt(getattr(zmq, name.upper()), value)
        assert s.getsockopt(zmq.MECHANISM) == want
    finally:
        s.close(0)


def test_libzmq_defaults(pz):
    s = pz.socket(zmq.REQ)
    try:
        assert {n: s.getsockopt(getattr(zmq, n.upper())) for n in DEFAULTS} == DEFAULTS
    finally:
        s.close(0)
