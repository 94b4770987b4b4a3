"""The benchmark suite runs end to end (quick mode, one tiny scenario).

Only the shape of the results is checked: performance is measured by
`make bench`, never asserted here."""
import json
import sys

import pytest


def test_bench_quick_pushpull(tmp_path):
    pytest.importorskip("zmq")
    from edgezmq.cli import bench as cmd_bench

    out = tmp_path / "bench.json"
    rc = cmd_bench.main(["--quick", "--only", "pushpull-16", "--json", str(out), "--no-plot"])
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["mode"] == "quick"
    assert doc["machine"]["python"] == "%d.%d.%d" % sys.version_info[:3]
    (res,) = doc["results"]
    assert res["id"] == "pushpull-16"
    assert not res["errors"]
    for lib in ("edgezmq", "pyzmq"):
        s = res["summary"][lib]
        assert s["msgs_per_s"]["median"] > 0
        assert s["mb_per_s"]["median"] > 0
    assert res["ratio"]["msgs_per_s"] > 0


def load_run():
    import importlib.util
    import os

    from support import ROOT

    spec = importlib.util.spec_from_file_location("edgezmq_bench_run", os.path.join(ROOT, "benchmarks", "run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_throughput_plot_against_message_size(tmp_path):
    run = load_run()
    results = []
    for size in (16, 1024, 1 << 20):
        summary = {lib: {"mb_per_s": {"median": size / k, "min": size / k / 2, "max": size / k * 2, "n": 3}}
                   for lib, k in (("edgezmq", 400), ("pyzmq", 100))}
        results.append(dict(id="pushpull-%d" % size, summary=summary))
    results.append(dict(id="reqrep-64", summary={}))
    png = tmp_path / "throughput.png"
    if run.pyplot() is None:
        assert not run.plot_throughput(results, str(png))  # no matplotlib: no plot, no error
        return
    assert run.plot_throughput(results, str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"



def test_instruction_counts_run(tmp_path):
    """benchmarks/instructions.py end to end, small: both libraries give a
    positive count per message for a PUSH end."""
    import os
    import re
    import shutil
    import subprocess

    from support import ROOT

    pytest.importorskip("zmq")
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed (Debian: valgrind)")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "instructions.py"), "--only", "push",
                        "--scale", "10"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    got = dict(re.findall(r"^push\s+(\w+)\s+([\d.]+)k$", r.stdout, re.M))
    assert set(got) == {"edgezmq", "pyzmq"}, r.stdout
    assert all(float(v) > 0.5 for v in got.values()), r.stdout
