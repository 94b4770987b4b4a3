"""A Context the program drops is released at garbage collection, as in
pyzmq: its I/O thread ends, its sockets and fds close, its bound ports are
free again. The same program runs with pyzmq and with edgezmq."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("zmq")

PROGRAM = r"""
import gc, os, sys, threading, time
lib = __import__(sys.argv[1])
N = int(sys.argv[2])

def nfds():
    return len(os.listdir("/proc/self/fd"))

def work(port):
    ctx = lib.Context()  # dropped at the end of the call, never term()ed
    pull = ctx.socket(lib.PULL)
    pull.bind("tcp://127.0.0.1:%d" % port)
    push = ctx.socket(lib.PUSH)
    push.connect("tcp://127.0.0.1:%d" % port)
    push.send(b"x")
    assert pull.recv() == b"x"

probe = lib.Context()
s = probe.socket(lib.PULL)
# below Linux's ephemeral ports (32768-60999): a connect's source port (this
# program's or another's) must not take one of the N ports work() binds
base_port = s.bind_to_random_port("tcp://127.0.0.1", min_port=20000, max_port=32000)
s.close()
probe.term()
del probe, s
gc.collect()
threads, fds = threading.active_count(), nfds()
for i in range(N):
    work(base_port + i)
ctx = lib.Context()
again = ctx.socket(lib.PULL)
# finalizers (and the threads they stop) finish in their own time on a busy
# machine: wait, up to a deadline, for the first dropped context's port to be
# free and the thread count to come back, then report what is left
deadline = time.monotonic() + 10
while True:
    gc.collect()
    try:
        again.bind("tcp://127.0.0.1:%d" % base_port)
    except lib.ZMQError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
        continue
    if threading.active_count() - threads <= 1 or time.monotonic() > deadline:
        break
    time.sleep(0.05)
again.close()
ctx.term()
del again, ctx
while threading.active_count() > threads and time.monotonic() < deadline:
    gc.collect()
    time.sleep(0.05)
print(threading.active_count() - threads, nfds() - fds)
"""


def leftovers(lib, n):
    r = subprocess.run([sys.executable, "-W", "ignore", "-c", PROGRAM, lib, str(n)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    threads, fds = map(int, r.stdout.split())
    return threads, fds


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds through /proc")
def test_dropped_contexts_release_threads_fds_and_ports():
    pz = leftovers("zmq", 20)
    ez = leftovers("edgezmq", 20)
    assert pz == (0, 0)  # what pyzmq leaves
    assert ez == pz
