"""the benchmark suite, edgezmq beside pyzmq (runs benchmarks/run.py from the source tree)"""
from __future__ import annotations

import os  # port-ok: CPython-only front end
import sys


def _bench_dir() -> str | None:
    here = os.path.dirname(os.path.abspath(__file__))
    for up in (2, 3):
        d = here
        for _ in range(up):
            d = os.path.dirname(d)
        cand = os.path.join(d, "benchmarks")
        if os.path.exists(os.path.join(cand, "run.py")):
            return cand
    return None


def main(argv: list[str]) -> int:
    d = _bench_dir()
    if d is None:
        print("edgezmq bench: needs the source tree (benchmarks/run.py not found)", file=sys.stderr)
        return 2
    import importlib.util

    spec = importlib.util.spec_from_file_location("edgezmq_bench_run", os.path.join(d, "run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return int(mod.main(argv) or 0)
