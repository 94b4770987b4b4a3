"""Helpers for the reliability tests: real libzmq peers (pyzmq) in child
processes that can be killed, restarted and frozen, and the counters the
tests watch (fds, RSS). See docs/reliability.md for the guarantees."""
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time


# -- helpers ---------------------------------------------------------------------
def spawn(script, *args):
    """Run a pyzmq peer script in a subprocess; waits for its 'ready' line."""
    p = subprocess.Popen(
        [sys.executable, "-u", "-c", textwrap.dedent(script)] + [str(a) for a in args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = p.stdout.readline()
    if line.strip() != "ready":
        p.kill()
        raise RuntimeError("peer did not start: %r %s" % (line, p.stderr.read()))
    return p


def kill(p):
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGCONT)
        except OSError:
            pass
        p.kill()
    p.wait(10)
    for f in (p.stdout, p.stderr):
        if f:
            f.close()


def fd_count():
    return len(os.listdir("/proc/self/fd"))


def rss_kb(pid="self"):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_for(cond, timeout, step=0.01):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def recv_event(mon, timeout_ms):
    """Next monitor event as (event, value, address) or None."""
    if not mon.poll(timeout_ms):
        return None
    a, b = mon.recv_multipart()
    ev, val = struct.unpack("<HI", a)
    return ev, val, b

PUSH_PEER = """
import sys, time, zmq, hashlib
port, rate = int(sys.argv[1]), float(sys.argv[2])
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.sndhwm = 100000
s.bind("tcp://127.0.0.1:%d" % port)
print("ready", flush=True)
seq = 0
while True:
    body = hashlib.sha256(b"%d" % seq).digest() * (1 + seq % 40 + (8000 if seq % 500 == 7 else 0))
    s.send_multipart([b"%d" % seq, body])
    seq += 1
    if rate:
        time.sleep(rate)
"""

PULL_PEER = """
import sys, zmq
port = int(sys.argv[1])
ctx = zmq.Context()
s = ctx.socket(zmq.PULL)
s.rcvhwm = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
s.bind("tcp://127.0.0.1:%d" % port)
print("ready", flush=True)
n = 0
total = 0
while True:
    m = s.recv()
    if m == b"END":
        break
    n += 1
    total += len(m)
print("got", n, total, flush=True)
"""
