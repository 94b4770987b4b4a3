"""CPU instructions per message (or round trip) of one end, edgezmq beside pyzmq.

    python benchmarks/instructions.py [--only push,pull,...] [--libs edgezmq,pyzmq]

Wall-clock ratios on a shared 2-core machine move by 2x between runs; an
instruction count does not. Each end runs under `valgrind --tool=callgrind`
(whole process: its I/O thread and libzmq's included) against a pyzmq peer
in a plain process, twice, with N1 and N2 messages; the difference divided
by N2 - N1 leaves out start-up and shutdown. Needs valgrind (Debian:
valgrind). Ends: push, pull (64 B), req, rep, dealer, router (64 B round
trips, the measured end first), curve-push, curve-pull (1 KiB), sub (64 B
from a PUB), pub4 (64 B to 4 SUBs, per message).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

PY = sys.executable

# the measured end: {lib} is "edgezmq" or "zmq"; N and ARGS come from argv
END = r"""
import sys, subprocess, time
import {lib} as zmq
N = int(sys.argv[1]); what = sys.argv[2]; PY = sys.argv[3]
PEER = '''
import sys, zmq, time
what, N = sys.argv[1], int(sys.argv[2])
c = zmq.Context()
kind = {{"push": "PULL", "pull": "PUSH", "req": "REP", "rep": "REQ", "dealer": "ROUTER", "router": "DEALER",
        "curve-push": "PULL", "curve-pull": "PUSH", "sub": "PUB", "pub4": "SUB"}}[what]
p = c.socket(getattr(zmq, kind))
p.sndhwm = p.rcvhwm = 0  # before the connection: a PUB or SUB at its HWM drops
if what.startswith("curve"):
    sp, ss, cp, cs = [a.encode() for a in sys.argv[4:8]]
    if kind == "PULL":
        p.curve_server = True; p.curve_secretkey = ss; p.curve_publickey = sp
    else:
        p.curve_serverkey = sp; p.curve_publickey = cp; p.curve_secretkey = cs
if sys.argv[3] == "bind":
    print(p.bind_to_random_port("tcp://127.0.0.1"), flush=True)
else:
    p.connect(sys.argv[3]); print(0, flush=True)
size = 1024 if what.startswith("curve") else 64
m = b"D" + b"x" * (size - 1)
if kind == "SUB":
    p.subscribe(b"")
    while p.recv() != b"E":
        pass
elif kind in ("PULL",):
    for _ in range(N): p.recv()
elif kind == "PUSH":
    for _ in range(N): p.send(m)
elif kind == "PUB":  # beacons until the measured SUB has one (it is subscribed), then N
    import select
    while not select.select([sys.stdin], [], [], 0.01)[0]:
        p.send(b"W")
    sys.stdin.readline()
    for _ in range(N): p.send(m)
elif kind in ("REP", "ROUTER"):
    for _ in range(N): p.send_multipart(p.recv_multipart())
else:
    for _ in range(N): p.send(m); p.recv()
p.close(linger=-1); c.term()
'''
curve = what.startswith("curve")
keys = [zmq.curve_keypair() for _ in range(2)] if curve else []
kargs = [k.decode() for pair in keys for k in pair]
ctx = zmq.Context()
kind = {{"push": "PUSH", "pull": "PULL", "req": "REQ", "rep": "REP", "dealer": "DEALER", "router": "ROUTER",
        "curve-push": "PUSH", "curve-pull": "PULL", "sub": "SUB", "pub4": "PUB"}}[what]
s = ctx.socket(getattr(zmq, kind))
if kind == "SUB":
    s.rcvhwm = 0  # a SUB drops at RCVHWM, and under valgrind it is the slow end
if curve:
    (sp, ss), (cp, cs) = keys
    if kind == "PULL":
        s.curve_server = True; s.curve_secretkey = ss; s.curve_publickey = sp
    else:
        s.curve_serverkey = sp; s.curve_publickey = cp; s.curve_secretkey = cs
we_bind = kind in ("PULL", "REP", "ROUTER", "PUB")
if we_bind:
    port = s.bind_to_random_port("tcp://127.0.0.1")
n_peers = 4 if what == "pub4" else 1
peers = [subprocess.Popen([PY, "-u", "-c", PEER, what, str(N), "tcp://127.0.0.1:%d" % port if we_bind else "bind"] + kargs,
                          stdout=subprocess.PIPE, stdin=subprocess.PIPE) for _ in range(n_peers)]
ports = [int(p.stdout.readline()) for p in peers]
if not we_bind:
    s.connect("tcp://127.0.0.1:%d" % ports[0])
m = b"D" + b"x" * ((1024 if curve else 64) - 1)
if kind == "SUB":
    s.subscribe(b"")
    s.recv()  # a beacon: subscribed
    peers[0].stdin.write(b"go\n"); peers[0].stdin.flush()
    k = 0
    while k < N:
        k += s.recv()[:1] == b"D"
elif kind == "PUB":
    s.sndhwm = 0; time.sleep(1.0)
    for _ in range(N): s.send(m)
    for _ in range(100):
        s.send(b"E"); time.sleep(0.01)
        if all(p.poll() is not None for p in peers): break
elif kind == "PULL":
    for _ in range(N): s.recv()
elif kind == "PUSH":
    for _ in range(N): s.send(m)
elif kind in ("REP", "ROUTER"):
    for _ in range(N): s.send_multipart(s.recv_multipart())
else:
    for _ in range(N): s.send(m); s.recv()
for p in peers: p.wait()
s.close(); ctx.term()
"""

COUNTS = {"push": (5000, 25000), "pull": (5000, 25000), "sub": (5000, 25000), "pub4": (5000, 25000),
          "req": (1000, 4000), "rep": (1000, 4000), "dealer": (1000, 4000), "router": (1000, 4000),
          "curve-push": (2000, 10000), "curve-pull": (2000, 10000)}


def instructions(lib, what, n, tmp):
    """Instructions of the whole measured process for n messages."""
    script = os.path.join(tmp, "end_%s.py" % lib)
    with open(script, "w") as f:
        f.write(END.format(lib=lib))
    out = os.path.join(tmp, "cg.out")
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, PY, script, str(n), what, PY],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)
    with open(out) as f:
        for ln in f:
            m = re.match(r"(?:summary|totals): (\d+)", ln)
            if m:
                return int(m.group(1))
    raise RuntimeError("no totals in callgrind's output")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default=",".join(COUNTS), help="ends, comma-separated: " + ", ".join(COUNTS))
    ap.add_argument("--libs", default="edgezmq,zmq", help="edgezmq and/or zmq (pyzmq)")
    ap.add_argument("--scale", type=int, default=1, help="divide the message counts (a smoke run)")
    a = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("instructions.py: needs valgrind (Debian: apt-get install valgrind)")
    print("%-11s %-8s %s" % ("end", "library", "instructions per message (round trip for req/rep/dealer/router)"))
    with tempfile.TemporaryDirectory() as tmp:
        for what in a.only.split(","):
            n1, n2 = (n // a.scale for n in COUNTS[what])
            for lib in a.libs.split(","):
                d = instructions(lib, what, n2, tmp) - instructions(lib, what, n1, tmp)
                print("%-11s %-8s %.1fk" % (what, "pyzmq" if lib == "zmq" else lib, d / (n2 - n1) / 1000), flush=True)


if __name__ == "__main__":
    main()
