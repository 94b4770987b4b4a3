"""The benchmark suite runs end to end (quick mode, one tiny scenario).

Only the shape of the results is checked: performance is measured by
`make bench`, never asserted here."""
import json
import sys

import pytest


def test_bench_quick_pushpull(tmp_path):
    pytest.importorskip("zmq")
    from edgezmq.ports.cpython import cmd_bench

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
