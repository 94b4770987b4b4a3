"""core/options.py: validation, defaults and MECHANISM as libzmq has them (the
cases in tests/option_cases.py, which interop/test_options_libzmq.py checks
against pyzmq), plus what edgezmq adds: buffers for bytes options, Z85 keys
read back, defaults that cost a socket nothing."""
import pytest
from edgezmq import constants as C
from edgezmq import z85
from edgezmq.errors import ZMQError
from edgezmq.options import NAMES, Options
from option_cases import (
    DEFAULTS,
    DIVERGES,
    KEY_Z85,
    MECHANISM_DIVERGES,
    MECHANISMS,
    SETS,
    mechanism_id,
    set_id,
    value_of,
)


def num(name):
    return NAMES[name] & 0xFF


def opts():
    return Options(C.REQ)


def _marked(cases, diverges, key):
    out = []
    for i, case in enumerate(cases):
        why = diverges.get(key(i, case))
        marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
        out.append(pytest.param(case, marks=marks))
    return out


@pytest.mark.parametrize("case", _marked(SETS, DIVERGES, lambda i, c: (c[0], c[1])), ids=set_id)
def test_set_accepts_or_refuses_as_libzmq(case):
    name, value, ok = case
    o = opts()
    if ok:
        o.set(num(name), value_of(value))
    else:
        with pytest.raises(ZMQError) as e:
            o.set(num(name), value_of(value))
        assert e.value.errno == C.EINVAL


@pytest.mark.parametrize("case", _marked(MECHANISMS, MECHANISM_DIVERGES, lambda i, c: i), ids=mechanism_id)
def test_mechanism_follows_the_security_options_as_libzmq(case):
    steps, want = case
    o = opts()
    for name, value in steps:
        o.set(num(name), value)
    assert o.mechanism == want  # the socket answers MECHANISM from this attribute


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_defaults_are_libzmqs(name):
    o = opts()
    assert (o.mechanism if name == "mechanism" else o.get(num(name))) == DEFAULTS[name]


def test_defaults_live_on_the_class_until_set():
    """A socket stores only what it changes (each attribute costs heap on a
    device); CPython copies the ones the per-message paths read (core/hotattrs.py)."""
    from edgezmq.hotattrs import HOT

    hot = {name: getattr(Options, name) for name in HOT["Options"]}
    assert {"sndhwm", "rcvhwm", "rcvtimeo"} <= set(hot) and "linger" not in hot
    o = opts()
    assert vars(o) == {"socket_type": C.REQ, **hot}
    o.set(num("linger"), 0)
    assert vars(o) == {"socket_type": C.REQ, **hot, "linger": 0}
    assert Options.linger == -1 and opts().linger == -1
    o.set(num("sndhwm"), 5)
    assert o.sndhwm == 5 and Options.sndhwm == 1000 and opts().sndhwm == 1000


def test_values_are_stored_under_the_pyzmq_attribute_name():
    o = opts()
    o.set(num("routing_id"), b"me")  # ROUTING_ID is IDENTITY's number
    assert o.identity == b"me" and o.get(num("identity")) == b"me"
    o.set(num("immediate"), True)  # a bool is an int
    assert o.immediate == 1 and type(o.immediate) is int


def test_bytes_options_take_buffers_not_str():
    """A str is TypeError as in pyzmq (setsockopt_string encodes); pyzmq
    refuses bytearray and memoryview too, edgezmq takes them (docs/api.md)."""
    o = opts()
    with pytest.raises(TypeError):
        o.set(num("zap_domain"), "global")
    o.set(num("plain_username"), bytearray(b"admin"))
    o.set(num("plain_password"), memoryview(b"secret"))
    assert (o.plain_username, o.plain_password) == (b"admin", b"secret")
    assert type(o.plain_password) is bytes


@pytest.mark.parametrize("name, value", [("linger", "0"), ("linger", 1.5), ("sndhwm", None),
                                         ("zap_domain", 5), ("curve_serverkey", 32), ("identity", "x")])
def test_wrong_types_are_type_errors(name, value):
    """As pyzmq: the Python type is checked first (TypeError), the value then (EINVAL)."""
    with pytest.raises(TypeError):
        opts().set(num(name), value)


@pytest.mark.parametrize("name, types", [("req_relaxed", (C.REQ,)), ("req_correlate", (C.REQ,)),
                                         ("router_mandatory", (C.REP, C.ROUTER)),
                                         ("xpub_verbose", (C.PUB, C.XPUB))])
def test_type_specific_options_are_write_only_and_einval_elsewhere(name, types):
    """libzmq's socket-type options: taken by their types only, never read back."""
    for t in range(11):
        o = Options(t)
        if t in types:
            o.set(num(name), 1)
            with pytest.raises(ZMQError) as e:
                o.get(num(name))
        else:
            with pytest.raises(ZMQError) as e:
                o.set(num(name), 1)
        assert e.value.errno == C.EINVAL


@pytest.mark.parametrize("option", [num("rcvmore"), num("events"), num("type"), num("last_endpoint"),
                                    num("mechanism"), 9999])
def test_read_only_and_unknown_options_cannot_be_set(option):
    with pytest.raises(ZMQError) as e:
        opts().set(option, 1)
    assert e.value.errno == C.EINVAL


def test_unknown_option_cannot_be_read():
    with pytest.raises(ZMQError) as e:
        opts().get(9999)
    assert e.value.errno == C.EINVAL


@pytest.mark.parametrize("given", [KEY_Z85, KEY_Z85 + b"\x00", "raw"])
def test_curve_keys_are_stored_raw_and_read_as_z85(given):
    raw = z85.decode(KEY_Z85)
    o = opts()
    o.set(num("curve_publickey"), raw if given == "raw" else given)
    assert o.curve_publickey == raw
    assert o.get(num("curve_publickey")) == KEY_Z85
    assert o.get(num("curve_secretkey")) == b""  # unset keys read empty
