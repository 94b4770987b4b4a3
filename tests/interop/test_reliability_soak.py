"""The CPython soak (make soak): full rate for EDGEZMQ_SOAK_SECONDS, every
message once and in order, memory and fds flat."""
import os
import subprocess
import sys
import textwrap
import time

import edgezmq as zmq
import pytest
from reliability_kit import fd_count, rss_kb

pytest.importorskip("zmq")


# -- soak --------------------------------------------------------------------------------
ECHO_PEER = """
import sys, zmq
ctx = zmq.Context()
a = ctx.socket(zmq.PULL)
b = ctx.socket(zmq.PUSH)
pa = a.bind_to_random_port("tcp://127.0.0.1")
pb = b.bind_to_random_port("tcp://127.0.0.1")
print(pa, pb, flush=True)
print("ready", flush=True)
zmq.proxy(a, b)
"""


@pytest.mark.soak
@pytest.mark.timeout(int(os.environ.get("EDGEZMQ_SOAK_SECONDS", "600")) + 300)
def test_soak_full_rate_flat_memory():
    seconds = float(os.environ.get("EDGEZMQ_SOAK_SECONDS", "600"))
    proc = subprocess.Popen([sys.executable, "-u", "-c", textwrap.dedent(ECHO_PEER)],
                            stdout=subprocess.PIPE, text=True)
    pa, pb = map(int, proc.stdout.readline().split())
    assert proc.stdout.readline().strip() == "ready"
    ctx = zmq.Context()
    window = 500
    try:
        push = ctx.socket(zmq.PUSH)
        pull = ctx.socket(zmq.PULL)
        push.connect("tcp://127.0.0.1:%d" % pa)
        pull.connect("tcp://127.0.0.1:%d" % pb)
        pull.rcvtimeo = 10000
        start = time.monotonic()
        warm = start + min(60.0, seconds * 0.2)
        sent = recvd = 0
        expect = 0
        rows = []
        base_rss = base_fd = None
        next_sample = start
        payload = b"p" * 200
        while True:
            now = time.monotonic()
            if now - start >= seconds and recvd == sent:
                break
            if now - start < seconds:
                while sent - recvd < window:
                    push.send_multipart([b"%d" % sent, payload])
                    sent += 1
            seq, body = pull.recv_multipart()
            assert int(seq) == expect and body == payload, (seq, expect)
            expect += 1
            recvd += 1
            if now >= next_sample:
                r, f = rss_kb(), fd_count()
                rows.append((now - start, sent, recvd, r, f))
                if now >= warm and base_rss is None:
                    base_rss, base_fd = r, f
                next_sample = now + max(1.0, seconds / 20)
        rows.append((time.monotonic() - start, sent, recvd, rss_kb(), fd_count()))
    finally:
        ctx.destroy(linger=0)
        proc.kill()
        proc.wait()
        proc.stdout.close()
    print("\n%8s %10s %10s %9s %5s" % ("t (s)", "sent", "received", "RSS kB", "fds"))
    for t, s, r, m, f in rows:
        print("%8.1f %10d %10d %9d %5d" % (t, s, r, m, f))
    rate = recvd / max(rows[-1][0], 1e-9)
    print("round trips: %d (%.0f msg/s); every sequence number accounted for" % (recvd, rate))
    assert recvd == sent
    if base_rss is None:
        base_rss, base_fd = rows[0][3], rows[0][4]
    after = [row for row in rows if row[0] >= warm - start]
    peak = max(m for _, _, _, m, _ in after) if after else rows[-1][3]
    print("RSS after warm-up: %d kB -> peak %d kB (%.1f%%)"
          % (base_rss, peak, 100.0 * (peak - base_rss) / base_rss))
    assert peak <= base_rss * 1.05
    assert max(f for *_, f in rows) <= base_fd
