"""cProfile one edgezmq endpoint against a pyzmq peer in another process.

    python benchmarks/prof_edgezmq.py push|pull|req|pub [--size 64] [--count 50000] [--top 25] [--subs 4]

push: edgezmq PUSH (profiled) -> pyzmq PULL;  pull: pyzmq PUSH -> edgezmq
PULL (profiled);  req: edgezmq REQ (profiled) -> pyzmq REP;  pub: edgezmq
PUB (profiled) -> --subs pyzmq SUBs. Prints the top
functions by own time; --io0 profiles the cooperative mode.
"""
import argparse
import cProfile
import os
import pstats
import select
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def peer(role, **params):
    args = [sys.executable, "-u", os.path.join(HERE, "worker.py"), "pyzmq", role]
    args += ["%s=%d" % kv for kv in params.items()]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


def read_port(p):
    for ln in p.stdout:
        if ln.startswith("PORT "):
            return int(ln.split()[1])
    raise SystemExit("peer gave no port")


def wait_ready(pub, subs):
    """Send warm-up beacons until every subscriber said READY."""
    pending = list(subs)
    while pending:
        pub.send(b"W")
        r = select.select([q.stdout for q in pending], [], [], 0.01)[0]
        pending = [q for q in pending if q.stdout not in r or q.stdout.readline().strip() != "READY"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("push", "pull", "req", "pub"))
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--count", type=int, default=50000)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--subs", type=int, default=4)
    ap.add_argument("--io0", action="store_true")
    ap.add_argument("--no-profile", action="store_true", help="just time it")
    a = ap.parse_args()
    import edgezmq as zmq

    ctx = zmq.Context(io_threads=0 if a.io0 else 1)
    msg = (b"D" if a.what == "pub" else b"x") + b"x" * (a.size - 1)
    n = a.count
    prof = cProfile.Profile()
    if a.what == "push":
        p = peer("pull", size=a.size, count=n)
        s = ctx.socket(zmq.PUSH)
        s.connect("tcp://127.0.0.1:%d" % read_port(p))

        def body():
            for _ in range(n):
                s.send(msg)

    elif a.what == "pull":
        s = ctx.socket(zmq.PULL)
        s.bind("tcp://127.0.0.1:*")
        port = int(s.last_endpoint.decode().rsplit(":", 1)[1])
        p = peer("push", size=a.size, count=n, port=port)
        s.recv()
        n -= 1

        def body():
            for _ in range(n):
                s.recv()

    elif a.what == "pub":
        s = ctx.socket(zmq.PUB)
        s.sndhwm = 0
        s.bind("tcp://127.0.0.1:*")
        port = int(s.last_endpoint.decode().rsplit(":", 1)[1])
        subs = [peer("sub", size=a.size, count=n, port=port) for _ in range(a.subs)]
        wait_ready(s, subs)
        p = subs[0]

        def body():
            for _ in range(n):
                s.send(msg)
            s.send(b"E")

    else:
        p = peer("rep", size=a.size, count=n, warmup=100)
        s = ctx.socket(zmq.REQ)
        s.connect("tcp://127.0.0.1:%d" % read_port(p))
        for _ in range(100):
            s.send(msg)
            s.recv()

        def body():
            for _ in range(n):
                s.send(msg)
                s.recv()

    t0 = time.perf_counter()
    if a.no_profile:
        body()
    else:
        prof.runcall(body)
    dt = time.perf_counter() - t0
    s.close()
    ctx.term()
    out = p.communicate(timeout=60)[0]
    print("%s %d B x %d: %.3f s, %.0f /s (%s)" % (a.what, a.size, n, dt, n / dt, "unprofiled" if a.no_profile else "profiled"))
    print(out.strip().splitlines()[-1])
    if not a.no_profile:
        pstats.Stats(prof).sort_stats("tottime").print_stats(a.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
