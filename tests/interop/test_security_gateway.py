"""The serial gateway relays PLAIN and CURVE end to end, holding no keys."""
import socket
import subprocess
import sys

import edgezmq as ez
import pytest
from security_kit import CLIENT, SERVER, ctx_fixture  # noqa: F401 (fixtures: ctx)

pytest.importorskip("zmq")


# --- the serial gateway relays CURVE end to end, holding no keys ---------------------------


@pytest.mark.parametrize("mech", ["CURVE", "NULL"])
def test_gateway_relays_curve_end_to_end_without_keys(ctx, pz, mech):
    """An edgezmq device REP bound on a serial line, `edgezmq gateway` (started with
    no key of any kind) listening on TCP, a libzmq REQ client: under CURVE the request
    and reply cross the serial line only as ciphertext; NULL shows the capture sees
    plaintext when there is any."""
    pytest.importorskip("serial")
    import zmq
    from ptyrelay import PtyCable

    cable = PtyCable(seed=3).start()
    cable.capture = bytearray()
    gw = None
    try:
        rep = ctx.socket(ez.REP)
        rep.linger = 0
        rep.rcvtimeo = rep.sndtimeo = 20000
        if mech == "CURVE":
            rep.curve_server = True
            rep.curve_secretkey = SERVER[1]
        rep.bind("serial://%s" % cable.a_path)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        gw = subprocess.Popen([sys.executable, "-m", "edgezmq", "gateway", "serial://%s?baud=115200" % cable.b_path,
                               "tcp://127.0.0.1:%d" % port], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        req = pz.socket(zmq.REQ)
        req.linger = 0
        req.rcvtimeo = req.sndtimeo = 20000
        if mech == "CURVE":
            req.curve_serverkey = SERVER[0]
            req.curve_publickey, req.curve_secretkey = CLIENT
        req.connect("tcp://127.0.0.1:%d" % port)
        secret_q, secret_a = b"QUESTION-the-gateway-must-not-see", b"ANSWER-the-gateway-must-not-see"
        req.send(secret_q)
        assert rep.recv() == secret_q
        rep.send(secret_a)
        assert req.recv() == secret_a
        req.close(0)
        wire = bytes(cable.capture)
        assert len(wire) > 200  # greetings and handshake crossed the line
        if mech == "CURVE":
            assert secret_q not in wire and secret_a not in wire
            assert b"MESSAGE" in wire and b"HELLO" in wire  # ZMTP itself ran over the line
        else:
            assert secret_q in wire and secret_a in wire
    finally:
        if gw is not None:
            gw.terminate()
            try:
                gw.wait(10)
            except subprocess.TimeoutExpired:
                gw.kill()
                gw.wait()
        cable.stop()
