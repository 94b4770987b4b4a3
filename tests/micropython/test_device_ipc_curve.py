"""The device over ipc (AF_UNIX on the unix port), connecting before the peer
binds, as a CURVE client, and out of heap then recovering."""
import os

import pytest
from device_kit import (
    MP,
    REP_EXPECT,
    TIMEOUT,
    _ask,
    _check_pull,
    _pz,
)

pytestmark = pytest.mark.micropython
CURVE_HEAP = os.environ.get("EDGEZMQ_MP_CURVE_HEAP", "256K")

if MP is None:
    pytest.skip("MicroPython unix port not installed", allow_module_level=True)


# -- ipc (AF_UNIX on the unix port) -------------------------------------------------
def test_device_push_over_ipc(pz, device, tmp_path):
    import zmq

    s, ep = _pz(pz, zmq.PULL, bind_ep="ipc://%s" % (tmp_path / "pull.ipc"))
    d = device("push_connect", ep)
    _check_pull(s)
    d.finish()


def test_device_rep_binds_ipc(pz, device, tmp_path):
    import zmq

    d = device("rep_bind", "ipc://%s" % (tmp_path / "rep.ipc"))
    s, _ = _pz(pz, zmq.REQ, connect_ep=d.expect("EP"))
    _ask(s)
    assert d.finish() == REP_EXPECT


def test_device_connects_before_the_peer_binds(pz, device):
    """A refused connect (seen as ERR/HUP: MicroPython has no SO_ERROR) is retried."""
    import socket
    import time

    import zmq

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    d = device("push_connect", "tcp://127.0.0.1:%d" % port)
    time.sleep(0.7)  # several refused attempts (RECONNECT_IVL 100 ms)
    s, _ = _pz(pz, zmq.PULL, bind_ep="tcp://127.0.0.1:%d" % port)
    _check_pull(s)
    d.finish()


# -- CURVE ------------------------------------------------------------------------------
def test_device_curve_client_to_libzmq_server(pz, device):
    """CURVE handshake and MESSAGE boxes from MicroPython (pure/viper NaCl) to libzmq."""
    import zmq

    pk, sk = zmq.curve_keypair()
    s = pz.socket(zmq.PULL)
    s.curve_server = True
    s.curve_publickey = pk
    s.curve_secretkey = sk
    s.rcvtimeo = int(TIMEOUT * 1000)
    s.linger = 0
    port = s.bind_to_random_port("tcp://127.0.0.1")
    # pure-Python NaCl: ~146K live after the handshake, more than the default heap
    d = device("curve_connect", "tcp://127.0.0.1:%d" % port, heap=CURVE_HEAP, extra=(pk.decode(),))
    for i in range(3):
        assert s.recv_multipart() == [b"secret-%d" % i, b"x" * 300]
    d.finish()


def test_device_out_of_heap_refuses_then_recovers(pz, device):
    """No heap for a new connection: the device does not accept it, or closes
    it (and logs, when it has the heap for a line), counts it, keeps running,
    and accepts libzmq's reconnect once memory is back."""
    import zmq

    d = device("tight_bind")
    s, _ = _pz(pz, zmq.PUSH, connect_ep=d.expect("EP"))
    s.sndtimeo = 10000
    d.expect("FULL")
    d.expect("FREED")
    s.send_multipart([b"after", b"recovery"])
    assert d.finish() == [[b"after", b"recovery"]]
    oom = [int(ln[4:]) for ln in d.lines if ln.startswith("OOM ")]
    assert oom and oom[0] >= 1, "\n".join(d.lines)  # counted in out_of_memory
