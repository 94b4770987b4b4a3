"""benchmarks/mp_bench.py runs end to end (tiny): the MicroPython half of the
benchmark smoke tests (interop/test_bench_smoke.py has the CPython half).
Only the shape of the results is checked: `make bench` measures."""
import json
import sys

import pytest
from support import SCALE


@pytest.mark.timeout(int(400 * SCALE))  # above the run's own limit below
def test_mp_bench_runs(tmp_path):
    """benchmarks/mp_bench.py end to end, tiny: every socket type's heap row
    comes from a device that finished, and the three senders are measured."""
    import os
    import subprocess

    from support import ROOT, micropython_binary

    if micropython_binary() is None:
        pytest.skip("MicroPython unix port not installed")
    out = tmp_path / "mp.json"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "mp_bench.py"), "--rounds", "1",
                        "--count", "300", "--no-min-heap", "--json", str(out)],
                       capture_output=True, text=True, timeout=300 * SCALE)  # ~6 s when idle
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(out.read_text())
    assert "recv_into" in doc["steady_state"], r.stderr[-3000:]  # mp_bench says why it is missing
    assert [m["type"] for m in doc["memory"] if m["ok"] and m["live"] > 0] == [
        "PUSH", "PULL", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PAIR", "XPUB", "XSUB"]
    assert doc["steady_state"]["recv_into"] == 0 and doc["steady_state"]["send"] == 0
    # the frozen 32-bit build joins when `make firmware` made it
    assert {"micropython", "edgezmq-cpython", "pyzmq"} <= set(doc["throughput_64B"])
    assert set(doc["throughput_64B"]) <= {"micropython", "micropython-32f", "edgezmq-cpython", "pyzmq"}
    assert all(v["median"] > 0 for v in doc["throughput_64B"].values())
    assert set(doc["roundtrip_64B_us"]) == set(doc["throughput_64B"])  # every client made its round trips
    assert all(v["median"] > 0 for v in doc["roundtrip_64B_us"].values())
