"""The interop matrix with edgezmq in the MicroPython unix port
(tests/micropython/mp_peer.py, driven like the pyzmq peer): every socket
pairing over tcp, ipc and inproc."""
import os

import pytest
from pairing_kit import PAIRINGS, _make, endpoint, exchange, peer_fixture  # noqa: F401 (fixtures: peer)
from peers.remote import micropython_peer

pytest.importorskip("zmq")


# the device's messages: a MicroPython unix port at 256K holds no 1 MiB frame
MP_MSG = [b"", bytes(range(256))[:255], bytes(range(256)), os.urandom(3000)]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("binder", ["a", "b"])
@pytest.mark.parametrize("edge", ["a", "b"])
@pytest.mark.parametrize("pairing", PAIRINGS, ids=lambda p: "%s-%s" % p)
def test_pairing_matrix_on_the_device(pairing, edge, binder, transport, peer, tmp_path, request):
    """The wire matrix with edgezmq in the MicroPython unix port (a device
    process driven like the pyzmq peer) on the `edge` side."""
    a_type, b_type = pairing
    rr = a_type == "ROUTER"
    device = micropython_peer(request.getfixturevalue("mp_bundle"))
    request.addfinalizer(device.close)

    def side(which, stype, ident):  # the device's socket, driven like the pyzmq peer's
        return _make("peer", None, device if edge == which else peer, stype, ident)

    a = side("a", a_type, b"A" if rr else None)
    b = side("b", b_type, b"B" if rr else None)
    try:
        first, second = (a, b) if binder == "a" else (b, a)
        ep = first.bind(endpoint(transport, tmp_path))
        second.connect(ep)
        exchange(a_type, b_type, a, b, MP_MSG)
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("pairing", PAIRINGS, ids=lambda p: "%s-%s" % p)
def test_micropython_inproc_matrix(pairing, request):
    """inproc on the device: both ends in one MicroPython context, the same
    conversations as the wire matrix."""
    a_type, b_type = pairing
    rr = a_type == "ROUTER"
    device = micropython_peer(request.getfixturevalue("mp_bundle"))
    request.addfinalizer(device.close)
    a = _make("peer", None, device, a_type, b"A" if rr else None)
    b = _make("peer", None, device, b_type, b"B" if rr else None)
    ep = a.bind("inproc://matrix")
    assert ep == "inproc://matrix"
    b.connect(ep)
    exchange(a_type, b_type, a, b, MP_MSG)
    a.close()
    b.close()
