"""Idle connections to one ROUTER: RSS per connection, and a round trip to each.

    python benchmarks/idle_connections.py [--peers 10000] [--procs 4] [--lib edgezmq|pyzmq|both]

The ROUTER (edgezmq or pyzmq) runs here; the DEALERs are pyzmq, spread over
--procs processes (libzmq takes two fds per socket: 2,500 a process stays
under a 20,000 fd limit). Reported: RSS growth of the ROUTER's process once
every peer has connected and is idle, per connection, and how long the round
trip to every peer took (each peer sends once; the ROUTER echoes).
"""
import argparse
import resource
import subprocess
import sys
import time

PEER = r'''
import sys, zmq, resource, time
h = resource.getrlimit(resource.RLIMIT_NOFILE)[1]; resource.setrlimit(resource.RLIMIT_NOFILE, (h, h))
c = zmq.Context(); c.set(zmq.MAX_SOCKETS, 30000); c.setsockopt(zmq.LINGER, 0)
ss = []
for i in range(int(sys.argv[2])):
    s = c.socket(zmq.DEALER); s.connect(sys.argv[1]); ss.append(s)
print("CONNECTED", flush=True)
sys.stdin.readline()
for s in ss: s.send(b"hi")
ok = sum(1 for s in ss if s.poll(60000) and s.recv())
print("ROUNDTRIPS %d" % ok, flush=True)
'''


def rss_kib():
    with open("/proc/self/status") as f:
        for ln in f:
            if ln.startswith("VmRSS"):
                return int(ln.split()[1])
    return 0


def run(lib, peers, procs):
    zmq = __import__("edgezmq" if lib == "edgezmq" else "zmq")
    ctx = zmq.Context()
    if lib == "pyzmq":
        ctx.set(zmq.MAX_SOCKETS, 30000)
    r = ctx.socket(zmq.ROUTER)
    r.rcvtimeo = 60000
    port = r.bind_to_random_port("tcp://127.0.0.1")
    time.sleep(0.3)
    base = rss_kib()
    each = peers // procs
    ps = [subprocess.Popen([sys.executable, "-c", PEER, "tcp://127.0.0.1:%d" % port, str(each)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(procs)]
    try:
        for p in ps:
            p.stdout.readline()
        time.sleep(5)  # the handshakes finish
        idle = rss_kib()
        t = time.monotonic()
        for p in ps:
            p.stdin.write("go\n")
            p.stdin.flush()
        for _ in range(each * procs):
            r.send_multipart(r.recv_multipart())
        ok = sum(int(p.stdout.readline().split()[1]) for p in ps)
        dt = time.monotonic() - t
    finally:
        for p in ps:
            p.kill()
            p.wait()
        r.close(linger=0)
        ctx.term()
    n = each * procs
    print("%-8s %6d peers: RSS +%.1f MB idle, %.1f KiB per connection; %d round trips in %.1f s"
          % (lib, n, (idle - base) / 1024, (idle - base) / n, ok, dt))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peers", type=int, default=10000)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--lib", default="both", choices=("edgezmq", "pyzmq", "both"))
    a = ap.parse_args(argv)
    h = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (h, h))
    for lib in (("edgezmq", "pyzmq") if a.lib == "both" else (a.lib,)):
        run(lib, a.peers, a.procs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
