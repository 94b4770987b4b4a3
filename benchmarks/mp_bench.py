"""The MicroPython unix port beside CPython: memory per socket type and throughput.

    python benchmarks/mp_bench.py [--rounds N] [--count N] [--no-min-heap] [--json PATH]

Figures come from MicroPython itself (gc.mem_alloc, micropython.mem_peak) in
the real unix port running the .mpy bundle, against libzmq (pyzmq) peers:
- per socket type, one socket with one connection, handshake included: heap
  live after the handshake and mem_peak, both above the interpreter's
  baseline before `import edgezmq`, and the smallest -X heapsize that passes;
- the steady state: bytes allocated per message (benchmarks/mp_alloc.py);
- PUSH throughput, 64 B messages to a pyzmq PULL, and the REQ round trip to
  a pyzmq REP, from the MicroPython device (the 64-bit unix port, and the
  frozen 32-bit build when `make firmware` made it), from edgezmq on CPython
  and from pyzmq, in interleaved rounds.
On the 64-bit unix port the .mpy bytecode itself is loaded into the heap; a
board with the package frozen into flash keeps it out (docs/micropython.md).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
PEER = {"PUSH": "PULL", "PULL": "PUSH", "PUB": "SUB", "SUB": "PUB", "REQ": "REP", "REP": "REQ",
        "DEALER": "ROUTER", "ROUTER": "DEALER", "PAIR": "PAIR", "XPUB": "SUB", "XSUB": "PUB"}
MIN_HEAP_TYPES = ("PUSH", "SUB", "REQ", "DEALER")
CPYTHON_PUSH = """
import sys, edgezmq as zmq
c = zmq.Context(); s = c.socket(zmq.PUSH); s.connect(sys.argv[1])
m = bytes(int(sys.argv[3]))
for _ in range(int(sys.argv[2])): s.send(m)
s.close(); c.term()
"""


def micropython():
    cand = os.path.join(os.path.dirname(sys.executable), "micropython")
    return cand if os.path.exists(cand) else "micropython"


def frozen32():
    """The 32-bit unix build with edgezmq frozen (tools/mpbuild.py), or None."""
    cand = os.path.join(ROOT, "build", "mp", "unix32f", "micropython")
    return cand if os.path.exists(cand) else None


def mp_env(bundle):
    # frozen modules first (a frozen build finds edgezmq there), then the bundle
    return dict(os.environ, MICROPYPATH=".frozen:" + bundle)


CPYTHON_REQ = """
import sys, time, edgezmq as zmq
c = zmq.Context(); s = c.socket(zmq.REQ); s.connect(sys.argv[1])
n = int(sys.argv[2]); m = bytes(int(sys.argv[3])); ts = []
for i in range(n + n // 10):
    t = time.perf_counter(); s.send(m); s.recv()
    if i >= n // 10: ts.append(time.perf_counter() - t)
ts.sort(); print("RT_US", int(ts[len(ts) // 2] * 1e6))
s.close(); c.term()
"""


def build_bundle(out):
    sys.path.insert(0, ROOT)
    from edgezmq.cli import bundle as cmd_bundle

    tool = cmd_bundle.find_mpy_cross()
    cmd_bundle.build(out, mpy=tool is not None)
    for name in ("mp_worker.py", "mp_alloc.py"):
        src = os.path.join(HERE, name)
        if tool is not None:  # compiled: compiling on the device would cost heap
            subprocess.run([tool, "-o", os.path.join(out, name[:-3] + ".mpy"), src], check=True)
        else:
            subprocess.run(["cp", src, out], check=True)


def run_device(bundle, heap, args, timeout=60):
    r = subprocess.run([micropython(), "-X", "heapsize=" + heap, "-m"] + args,
                       env=dict(os.environ, MICROPYPATH=bundle), capture_output=True, text=True, timeout=timeout)
    vals = {}
    for ln in r.stdout.splitlines():
        k, _, v = ln.partition(" ")
        vals[k] = v
    return "DONE" in vals, vals, r.stdout + r.stderr


def peer_socket(ctx, kind):
    import zmq

    s = ctx.socket(getattr(zmq, PEER[kind]))
    s.linger = 0
    if PEER[kind] == "SUB":
        s.subscribe(b"")
    port = s.bind_to_random_port("tcp://127.0.0.1")
    return s, "tcp://127.0.0.1:%d" % port


def memory(bundle, min_heap):
    import zmq

    ctx = zmq.Context()
    rows = []
    for kind in ("PUSH", "PULL", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PAIR", "XPUB", "XSUB"):
        s, ep = peer_socket(ctx, kind)
        ok, v, out = run_device(bundle, "512K", ["mp_worker", "mem", kind, ep])
        row = dict(type=kind, ok=ok, import_live=int(v.get("IMPORT", -1)), live=int(v.get("LIVE", -1)),
                   mem_peak=int(v.get("PEAK", -1)))
        if ok and min_heap and kind in MIN_HEAP_TYPES:
            row["min_heap_k"] = smallest_heap(bundle, kind, ep)
        s.close()
        rows.append(row)
    ctx.term()
    return rows


def smallest_heap(bundle, kind, ep):
    """The smallest -X heapsize (8K steps) at which the scenario passes."""
    lo, hi = 8, 512  # KiB: lo fails, hi passes
    while hi - lo > 8:
        mid = (lo + hi) // 16 * 8
        ok, _, _ = run_device(bundle, "%dK" % mid, ["mp_worker", "mem", kind, ep])
        lo, hi = (lo, mid) if ok else (mid, hi)
    return hi


def steady_state(bundle):
    import zmq

    ctx = zmq.Context()
    src = ctx.socket(zmq.PUSH)
    src.linger = 0
    src.sndhwm = 0
    src_ep = "tcp://127.0.0.1:%d" % src.bind_to_random_port("tcp://127.0.0.1")
    sink = ctx.socket(zmq.PULL)
    sink.linger = 0
    sink_ep = "tcp://127.0.0.1:%d" % sink.bind_to_random_port("tcp://127.0.0.1")
    # each socket is used, then closed, by its own thread only, and both
    # threads end before ctx.term(): libzmq sockets are not thread-safe (a
    # socket closed under a thread still in send/recv aborts the process:
    # "Assertion failed: _term_acks > 0")

    done = threading.Event()  # the device has exited

    def feed():
        src.sndtimeo = 200  # a send waits for the device to connect, until it is gone
        sent = 0
        while sent < 1450 and not done.is_set():
            try:
                src.send(b"m" * 100)
                sent += 1
            except zmq.Again:
                pass
        done.wait()  # closing now (linger 0) would drop what the device has not read yet
        src.close()

    def drain():  # until the device has exited (a slow start on a busy machine is no end)
        sink.rcvtimeo = 200
        while not done.is_set():
            try:
                sink.recv()
            except zmq.Again:
                pass
        sink.close()

    threads = [threading.Thread(target=feed, daemon=True), threading.Thread(target=drain, daemon=True)]
    for t in threads:
        t.start()
    r = subprocess.run([micropython(), "-X", "heapsize=256K", "-m", "mp_alloc", src_ep, sink_ep, "1000"],
                       env=dict(os.environ, MICROPYPATH=bundle), capture_output=True, text=True, timeout=60)
    out = {}
    for ln in r.stdout.splitlines():
        if ln.startswith("ALLOC "):
            _, api, n, b = ln.split()
            out[api] = int(b) / int(n)
    done.set()
    for t in threads:
        t.join(10)
    ctx.term()
    if not out:  # say why: the caller reports the steady state as missing
        print("mp_bench: steady state not measured: %s" % (r.stdout + r.stderr)[-600:], file=sys.stderr)
    return out


def throughput(bundle, count, size, rounds):
    import zmq

    senders = {
        "micropython": lambda ep: [micropython(), "-X", "heapsize=256K", "-m", "mp_worker", "push", ep, str(count), str(size)],
        "edgezmq-cpython": lambda ep: [sys.executable, "-c", CPYTHON_PUSH, ep, str(count), str(size)],
        "pyzmq": lambda ep: [sys.executable, "-c", CPYTHON_PUSH.replace("edgezmq as zmq", "zmq"), ep, str(count), str(size)],
    }
    if frozen32():
        senders["micropython-32f"] = lambda ep: [frozen32(), "-X", "heapsize=256K", "-m", "mp_worker", "push", ep,
                                                 str(count), str(size)]
    rates = {k: [] for k in senders}
    ctx = zmq.Context()
    for rnd in range(rounds):
        order = list(senders) if rnd % 2 == 0 else list(reversed(list(senders)))
        for name in order:
            pull = ctx.socket(zmq.PULL)
            pull.linger = 0
            pull.rcvtimeo = 30000
            ep = "tcp://127.0.0.1:%d" % pull.bind_to_random_port("tcp://127.0.0.1")
            p = subprocess.Popen(senders[name](ep), env=mp_env(bundle),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            pull.recv()
            t0 = time.perf_counter()
            for _ in range(count - 1):
                pull.recv()
            rates[name].append((count - 1) / (time.perf_counter() - t0))
            p.wait(60)
            pull.close()
    ctx.term()
    return {k: dict(median=statistics.median(v), min=min(v), max=max(v)) for k, v in rates.items()}


def roundtrip(bundle, count, size, rounds):
    """Median REQ round trip (us) to a pyzmq REP served by a thread here."""
    import zmq

    clients = {
        "micropython": [micropython(), "-X", "heapsize=256K", "-m", "mp_worker", "req"],
        "edgezmq-cpython": [sys.executable, "-c", CPYTHON_REQ],
        "pyzmq": [sys.executable, "-c", CPYTHON_REQ.replace("edgezmq as zmq", "zmq")],
    }
    if frozen32():
        clients["micropython-32f"] = [frozen32(), "-X", "heapsize=256K", "-m", "mp_worker", "req"]
    out = {k: [] for k in clients}
    ctx = zmq.Context()
    for rnd in range(rounds):
        order = list(clients) if rnd % 2 == 0 else list(reversed(list(clients)))
        for name in order:
            rep = ctx.socket(zmq.REP)
            rep.linger = 0
            rep.rcvtimeo = 200
            ep = "tcp://127.0.0.1:%d" % rep.bind_to_random_port("tcp://127.0.0.1")
            stop = threading.Event()

            def serve(rep=rep, stop=stop):
                while not stop.is_set():
                    try:
                        rep.send(rep.recv())
                    except zmq.Again:
                        pass
                rep.close()

            t = threading.Thread(target=serve, daemon=True)
            t.start()
            r = subprocess.run(clients[name] + [ep, str(count), str(size)], env=mp_env(bundle),
                               capture_output=True, text=True, timeout=120)
            stop.set()
            t.join(10)
            for ln in r.stdout.splitlines():
                if ln.startswith("RT_US "):
                    out[name].append(int(ln.split()[1]))
    ctx.term()
    return {k: dict(median=statistics.median(v), min=min(v), max=max(v)) for k, v in out.items() if v}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--count", type=int, default=20000, help="messages per throughput run")
    ap.add_argument("--no-min-heap", action="store_true", help="skip the smallest-heap search")
    ap.add_argument("--json", default=os.path.join(RESULTS, "mp_latest.json"))
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="edgezmq-mpbench-") as bundle:
        build_bundle(bundle)
        mem = memory(bundle, not a.no_min_heap)
        steady = steady_state(bundle) or steady_state(bundle)  # once more if the device did not get to measure
        tput = throughput(bundle, a.count, 64, a.rounds)
        rtt = roundtrip(bundle, max(100, a.count // 20), 64, a.rounds)
    print("MicroPython unix port, one socket with one connection to libzmq, handshake included")
    print("(KB above the interpreter's baseline before `import edgezmq`; .mpy bytecode counted, see docs)")
    print("%-7s %10s %12s %14s %14s" % ("type", "import KB", "live KB", "mem_peak KB", "min heap"))
    for r in mem:
        mh = ("%dK" % r["min_heap_k"]) if "min_heap_k" in r else "-"
        if not r["ok"]:
            mh = "FAILED"
        print("%-7s %10.1f %12.1f %14.1f %14s" % (r["type"], r["import_live"] / 1024, r["live"] / 1024,
                                                  r["mem_peak"] / 1024, mh))
    print()
    print("steady state, bytes allocated per 100-byte message: " +
          ", ".join("%s %.1f" % kv for kv in steady.items()))
    print()
    print("PUSH 64 B throughput to a pyzmq PULL (msg/s, median [min-max] of %d rounds)" % a.rounds)
    base = tput["pyzmq"]["median"]
    for k, v in tput.items():
        print("  %-16s %9.0f [%.0f-%.0f]  ratio to pyzmq %.2f" % (k, v["median"], v["min"], v["max"], v["median"] / base))
    print()
    print("REQ 64 B round trip to a pyzmq REP (us, median [min-max] of %d rounds)" % a.rounds)
    base = rtt.get("pyzmq", {}).get("median") or 1
    for k, v in rtt.items():
        print("  %-16s %9.0f [%.0f-%.0f]  ratio to pyzmq %.2f" % (k, v["median"], v["min"], v["max"], v["median"] / base))
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(dict(memory=mem, steady_state=steady, throughput_64B=tput, roundtrip_64B_us=rtt), f, indent=1)
    print("\nwrote", a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
