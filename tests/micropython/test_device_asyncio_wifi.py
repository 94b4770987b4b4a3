"""The device's asyncio integration and its Wi-Fi keeper against libzmq."""
import os
import subprocess
import threading
import time

import pytest
from device_kit import HEAP, MP, TIMEOUT, _pz
from support import ROOT

pytestmark = pytest.mark.micropython

if MP is None:
    pytest.skip("MicroPython unix port not installed", allow_module_level=True)


# -- asyncio -----------------------------------------------------------------------
def test_device_asyncio(pz, bundle):
    """edgezmq.asyncio on MicroPython's own asyncio (frozen in the firmware,
    hence ".frozen" on MICROPYPATH): awaitable recv/send against libzmq while
    another task keeps running."""
    import zmq

    src, src_ep = _pz(pz, zmq.PUSH, bind_ep="tcp://127.0.0.1:*")
    sink, sink_ep = _pz(pz, zmq.PULL, bind_ep="tcp://127.0.0.1:*")
    proc = subprocess.Popen([MP, "-X", "heapsize=" + HEAP, os.path.join(ROOT, "tests", "micropython", "mp_asyncio.py"), src_ep, sink_ep, "20"],
                            env=dict(os.environ, MICROPYPATH=bundle + ":.frozen"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for i in range(20):
            src.send_multipart([b"m%d" % i, b"x" * i])
            time.sleep(0.01)
        got = [sink.recv_multipart() for _ in range(20)]
        out = proc.communicate(timeout=TIMEOUT)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert got == [[b"echo", b"m%d" % i, b"x" * i] for i in range(20)]
    assert "DONE" in out, out
    ticks = int(out.split("TICKS")[1].split()[0])
    assert ticks > 5, out  # the other task ran while recv waited


# -- Wi-Fi -------------------------------------------------------------------------
def test_wifi_keeper(pz, bundle):
    """ports/micropython/wifi.py on the unix port, with a scripted WLAN: a
    short outage keeps the TCP connection, a long one and an address change
    redial at once; libzmq sees exactly those reconnects and every message
    arrives once, in order."""
    import zmq

    pull, ep = _pz(pz, zmq.PULL, bind_ep="tcp://127.0.0.1:*")
    mon = pull.get_monitor_socket(zmq.EVENT_ACCEPTED)
    got = []  # read while the device runs: libzmq drops what a closed connection left unread
    reader = threading.Thread(target=lambda: got.extend(pull.recv() for _ in range(12)), daemon=True)
    reader.start()
    r = subprocess.run([MP, "-X", "heapsize=" + HEAP, os.path.join(ROOT, "tests", "micropython", "mp_wifi.py"), ep],
                       env=dict(os.environ, MICROPYPATH=bundle), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "DONE" in r.stdout, r.stdout + r.stderr
    reader.join(TIMEOUT)
    assert got == [b"%s-%d" % (t, i) for t in (b"before", b"short", b"long", b"newip") for i in range(3)]
    lines = r.stdout.splitlines()
    assert "UP 10.0.0.5" in lines
    assert "RESETS short 0" in lines and "RESETS long 1" in lines and "RESETS newip 2" in lines, r.stdout
    assert "OUTAGES 3" in r.stdout and "ADDRESS 10.0.0.9" in r.stdout
    joins = int(r.stdout.split("JOINS")[1].split()[0])
    assert joins > 2  # the keeper kept rejoining while the link was down
    accepted = 0
    while mon.poll(500):
        mon.recv_multipart()
        accepted += 1
    assert accepted == 3  # the first connection, and one per redial
