"""edgezmq beside pyzmq: throughput, latency, fan-out and connection scaling.

    python -m edgezmq bench [--quick | --full] [--rounds N] [--only TEXT] [--json PATH]

Every scenario endpoint is its own process (worker.py), both ends of a
scenario use the same library, and the libraries take turns in interleaved
A/B rounds (the order flips every round) so drift on the machine hits both.
Reported: the median over rounds and the spread (min-max); the ratio is
edgezmq / pyzmq. Results go to benchmarks/results/latest.json and latest.md,
and when matplotlib is importable (the [bench] extra) to latest.png (the
ratios) and throughput.png (PUSH/PULL throughput against message size).
Only 127.0.0.1 is used, and every process has a hard timeout.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "worker.py")
RESULTS = os.path.join(HERE, "results")
LIBS = ("edgezmq", "pyzmq")
KIB = 1024


class Failed(Exception):
    pass


# -- processes -------------------------------------------------------------------
class Proc:
    def __init__(self, lib, role, timeout, stdin=False, **params):
        args = [sys.executable, "-u", WORKER, lib, role]
        args += ["%s=%d" % kv for kv in sorted(params.items())]
        self.deadline = time.monotonic() + timeout
        self.desc = "%s %s" % (lib, role)
        self.p = subprocess.Popen(
            args,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def line(self, prefix):
        """The next stdout line starting with prefix (the rest of it)."""
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.p.stdout, selectors.EVENT_READ)
        try:
            while True:
                left = self.deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise Failed("%s: timed out waiting for %s" % (self.desc, prefix.strip()))
                ln = self.p.stdout.readline()
                if not ln:
                    err = self.p.stderr.read()[-2000:]
                    raise Failed("%s: exited early\n%s" % (self.desc, err))
                if ln.startswith(prefix):
                    return ln[len(prefix) :].strip()
        finally:
            sel.close()

    def tell(self, text):
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()

    def result(self):
        return json.loads(self.line("RESULT "))

    def finish(self):
        try:
            self.p.wait(max(0.1, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def run_pair(lib, server_role, client_role, measured_by, timeout, sparams, cparams):
    """A binding server and a connecting client; returns the measuring side's result."""
    procs = []
    try:
        srv = Proc(lib, server_role, timeout, **sparams)
        procs.append(srv)
        port = int(srv.line("PORT "))
        cli = Proc(lib, client_role, timeout, port=port, **cparams)
        procs.append(cli)
        res = {"server": srv.result, "client": cli.result}[measured_by]()
        for p in procs:
            p.finish()
        return res
    finally:
        for p in procs:
            p.kill()


# -- scenarios -------------------------------------------------------------------
def s_pushpull(size, count, **extra):
    def run(lib, timeout):
        p = dict(size=size, count=count, **extra)
        return run_pair(lib, "pull", "push", "server", timeout, p, p)

    return run


def s_latency(server, client, size, count, warmup):
    def run(lib, timeout):
        if lib == "raw":
            server_role, client_role = "server", "client"
        else:
            server_role, client_role = server, client
        p = dict(size=size, count=count, warmup=warmup)
        return run_pair(lib, server_role, client_role, "client", timeout, p, p)

    return run


def s_fanout(subs, size, count):
    def run(lib, timeout):
        procs = []
        try:
            pub = Proc(lib, "pub", timeout, stdin=True, size=size, count=count)
            procs.append(pub)
            port = int(pub.line("PORT "))
            for _ in range(subs):
                procs.append(Proc(lib, "sub", timeout, port=port, size=size, count=count))
            for s in procs[1:]:
                s.line("READY")
            pub.tell("go")
            rs = [s.result() for s in procs[1:]]
            pub.result()
            for p in procs:
                p.finish()
        finally:
            for p in procs:
                p.kill()
        rates = [r["msgs_per_s"] for r in rs]
        per_sub = statistics.median(rates)
        return dict(
            msgs_per_s=per_sub,
            total_msgs_per_s=per_sub * subs,
            mb_per_s=per_sub * size / 1e6,
            lost=sum(r["lost"] for r in rs),
        )

    return run


def s_peers(peers, size, count, warmup):
    def run(lib, timeout):
        p = dict(size=size, count=count, warmup=warmup, peers=peers)
        return run_pair(lib, "router_many", "dealers", "client", timeout, p, p)

    return run


def scenarios(mode):
    quick = mode == "quick"
    full = mode == "full"
    out = []

    def add(sid, title, fn, libs, metrics, timeout):
        out.append(dict(id=sid, title=title, fn=fn, libs=libs, metrics=metrics, timeout=timeout))

    tp = ("msgs_per_s", "mb_per_s")
    counts = {16: 60000, 64: 60000, KIB: 30000, 64 * KIB: 3000, KIB * KIB: 150}
    for size, count in counts.items():
        if quick:
            count = max(20, count // 10)
        libs = ("edgezmq", "edgezmq-io0", "pyzmq") if size in (64, KIB) else LIBS  # both modes: issue 14's goal
        add("pushpull-%d" % size, "PUSH/PULL %s" % human_size(size), s_pushpull(size, count), libs, tp, 120)
    lat = ("median_us", "p99_us")
    n, w = (300, 50) if quick else (3000, 300)
    add(
        "reqrep-64",
        "REQ/REP 64 B round trip",
        s_latency("rep", "req", 64, n, w),
        ("edgezmq", "edgezmq-io0", "pyzmq", "raw"),
        lat,
        60,
    )
    add(
        "dealerrouter-64",
        "DEALER/ROUTER 64 B round trip",
        s_latency("router", "dealer", 64, n, w),
        ("edgezmq", "edgezmq-io0", "pyzmq", "raw"),
        lat,
        60,
    )
    add("curve-pushpull-%d" % KIB, "CURVE PUSH/PULL 1 KiB", s_pushpull(KIB, 3000 if quick else 20000, curve=1),
        ("edgezmq", "pyzmq"), tp, 120)
    add("curve-handshake", "CURVE connect + handshake + first 64 B REQ/REP",
        s_latency("curve_hs_server", "curve_hs_client", 64, 30 if quick else 200, 5), ("edgezmq", "pyzmq"),
        lat, 120)
    fan = (1, 4, 32) if full else (1, 4)
    fcount = 2000 if quick else 20000
    for k in fan:
        add(
            "pubsub-%d" % k,
            "PUB 64 B to %d SUB" % k,
            s_fanout(k, 64, fcount),
            LIBS,
            ("msgs_per_s", "total_msgs_per_s"),
            120,
        )
    if full:
        for k in (1, 10, 100, 1000):
            add(
                "peers-%d" % k,
                "ROUTER with %d DEALER peers, round trip" % k,
                s_peers(k, 64, 2000, 200),
                LIBS,
                lat,
                120,
            )
    return out


# -- statistics and output ---------------------------------------------------------
def human_size(n):
    if n >= KIB * KIB:
        return "%d MiB" % (n // (KIB * KIB))
    if n >= KIB:
        return "%d KiB" % (n // KIB)
    return "%d B" % n


def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1e6:
        return "%.2fM" % (v / 1e6)
    if a >= 1e4:
        return "%.1fk" % (v / 1e3)
    if a >= 100:
        return "%.0f" % v
    return "%.3g" % v


UNITS = {
    "msgs_per_s": "msg/s",
    "total_msgs_per_s": "msg/s, all subs",
    "mb_per_s": "MB/s",
    "median_us": "median us",
    "p99_us": "p99 us",
}


def summarise(runs, metric):
    vals = [r[metric] for r in runs if metric in r]
    if not vals:
        return None
    return dict(median=statistics.median(vals), min=min(vals), max=max(vals), n=len(vals))


def table(results):
    cols = []
    for r in results:
        for lib in r["libs"]:
            if lib not in cols:
                cols.append(lib)
    head = ["scenario", "metric"] + cols + ["edgezmq/pyzmq"]
    rows = []
    for r in results:
        for m in r["metrics"]:
            row = [r["title"], UNITS.get(m, m)]
            for lib in cols:
                s = r["summary"].get(lib, {}).get(m)
                row.append("%s [%s-%s]" % (fmt(s["median"]), fmt(s["min"]), fmt(s["max"])) if s else "")
            ratio = r["ratio"].get(m)
            row.append("%.2f" % ratio if ratio is not None else "-")
            rows.append(row)
    widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(head, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def markdown(results):
    """The same table in Markdown (for docs/performance.md)."""
    cols = []
    for r in results:
        for lib in r["libs"]:
            if lib not in cols:
                cols.append(lib)
    out = ["| scenario | metric | " + " | ".join(cols) + " | edgezmq/pyzmq |"]
    out.append("|" + "---|" * (len(cols) + 3))
    for r in results:
        for m in r["metrics"]:
            cells = []
            for lib in cols:
                s = r["summary"].get(lib, {}).get(m)
                cells.append("%s (%s-%s)" % (fmt(s["median"]), fmt(s["min"]), fmt(s["max"])) if s else "")
            ratio = r["ratio"].get(m)
            out.append(
                "| %s | %s | %s | %s |"
                % (r["title"], UNITS.get(m, m), " | ".join(cells), "%.2f" % ratio if ratio is not None else "-")
            )
    return "\n".join(out) + "\n"


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = dict(
        nproc=os.cpu_count(),
        cpu=cpu or platform.processor(),
        python=platform.python_version(),
        platform=platform.platform(),
    )
    try:
        import zmq

        info["pyzmq"] = zmq.__version__
        info["libzmq"] = zmq.zmq_version()
    except ImportError:
        pass
    return info


def pyplot():
    """matplotlib's pyplot without a display, or None when it is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def plot_throughput(results, path):
    """PUSH/PULL throughput against message size, one line per library; -> bool."""
    plt = pyplot()
    rows = [r for r in results if r["id"].startswith("pushpull-")]
    if plt is None or not rows:
        return False
    rows.sort(key=lambda r: int(r["id"].split("-")[1]))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for lib, style in (("edgezmq", "o-"), ("pyzmq", "s--")):
        xs, ys, lo, hi = [], [], [], []
        for r in rows:
            s = r["summary"].get(lib, {}).get("mb_per_s")
            if s:
                xs.append(int(r["id"].split("-")[1]))
                ys.append(s["median"])
                lo.append(s["median"] - s["min"])
                hi.append(s["max"] - s["median"])
        if xs:
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt=style, capsize=3, label=lib)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks([int(r["id"].split("-")[1]) for r in rows])
    ax.set_xticklabels([human_size(int(r["id"].split("-")[1])) for r in rows])
    ax.set_xlabel("message size")
    ax.set_ylabel("MB/s (median, bars: min-max over rounds)")
    ax.set_title("PUSH/PULL throughput over 127.0.0.1")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def plot(results, path):
    plt = pyplot()
    if plt is None:
        return False
    labels, ratios = [], []
    for r in results:
        m = r["metrics"][0]
        if r["ratio"].get(m) is not None:
            labels.append("%s (%s)" % (r["title"], UNITS.get(m, m)))
            ratios.append(r["ratio"][m])
    if not labels:
        return False
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(labels) + 1.5))
    ax.barh(labels, ratios)
    ax.axvline(1.0, color="k", linewidth=0.8)
    ax.set_xlabel("edgezmq / pyzmq (throughput: higher is better; latency: lower is better)")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(prog="edgezmq bench", description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="fewer messages, 1 round: a smoke run")
    g.add_argument("--full", action="store_true", help="also 32 subscribers and 1/10/100/1000 peers")
    ap.add_argument("--rounds", type=int, default=None, help="A/B rounds (default 3, quick 1)")
    ap.add_argument("--only", action="append", default=[], help="run scenarios whose id contains TEXT")
    ap.add_argument("--json", default=os.path.join(RESULTS, "latest.json"), help="where to write results")
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args(argv)
    mode = "quick" if args.quick else "full" if args.full else "default"
    rounds = args.rounds or (1 if args.quick else 3)
    todo = scenarios(mode)
    if args.only:
        todo = [s for s in todo if any(o in s["id"] for o in args.only)]
    if not todo:
        print("bench: no scenario matches %s" % args.only, file=sys.stderr)
        return 2
    info = machine()
    print("edgezmq bench: %s mode, %d round(s), %d scenario(s)" % (mode, rounds, len(todo)))
    print("machine: %(nproc)s CPUs, %(cpu)s, Python %(python)s" % info)
    started = time.time()
    results = []
    failures = 0
    for sc in todo:
        runs = {lib: [] for lib in sc["libs"]}
        errors = []
        for rnd in range(rounds):
            order = list(sc["libs"]) if rnd % 2 == 0 else list(reversed(sc["libs"]))
            for lib in order:
                try:
                    runs[lib].append(sc["fn"](lib, sc["timeout"]))
                except (Failed, ValueError, KeyError) as e:
                    errors.append("%s round %d: %s" % (lib, rnd + 1, e))
        summary = {}
        for lib, rs in runs.items():
            summary[lib] = {m: summarise(rs, m) for m in sc["metrics"]}
            summary[lib] = {m: s for m, s in summary[lib].items() if s is not None}
        ratio = {}
        for m in sc["metrics"]:
            a = summary.get("edgezmq", {}).get(m)
            b = summary.get("pyzmq", {}).get(m)
            ratio[m] = a["median"] / b["median"] if a and b and b["median"] else None
        r = dict(
            id=sc["id"],
            title=sc["title"],
            libs=list(sc["libs"]),
            metrics=list(sc["metrics"]),
            runs=runs,
            summary=summary,
            ratio=ratio,
            errors=errors,
        )
        results.append(r)
        failures += len(errors)
        status = "; ".join(
            "%s %s" % (lib, fmt(summary[lib][sc["metrics"][0]]["median"]))
            for lib in sc["libs"]
            if sc["metrics"][0] in summary[lib]
        )
        print("  %-34s %s" % (sc["title"], status), flush=True)
        for e in errors:
            print("    FAILED %s" % e, file=sys.stderr)
    print()
    print(table(results))
    doc = dict(
        machine=info,
        mode=mode,
        rounds=rounds,
        started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        seconds=round(time.time() - started, 1),
        results=results,
    )
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=1)
    md = os.path.splitext(args.json)[0] + ".md"
    with open(md, "w") as f:
        f.write(markdown(results))
    print("\nwrote %s and %s" % (args.json, md))
    if not args.no_plot:
        if pyplot() is None:
            print("no plots: matplotlib is not importable (pip install 'edgezmq[bench]')")
        png = os.path.splitext(args.json)[0] + ".png"
        if plot(results, png):
            print("wrote %s" % png)
        png = os.path.join(os.path.dirname(os.path.abspath(args.json)), "throughput.png")
        if plot_throughput(results, png):
            print("wrote %s" % png)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
