"""Run pyzmq's own tests against edgezmq (`make pyzmq-tests`).

Downloads the sdist of the pyzmq installed in .venv (the same version the
interop tests use as the libzmq peer) into build/ once, extracts its tests/
folder, and runs the chosen files with this folder first on PYTHONPATH, so
that `import zmq` is edgezmq (zmq/__init__.py here). Prints pass/fail/skip
per file and every failure; exits 1 below the pass rate asked for.

    python tests/pyzmq_suite/run.py [--min-pass 0.9] [-k EXPR] [FILE ...]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, "build")
FILES = [
    "test_socket", "test_pair", "test_reqrep", "test_pubsub", "test_multipart", "test_poll",
    "test_asyncio", "test_monitor", "test_z85", "test_security", "test_curve_keygen",
    "test_error", "test_context", "test_message", "test_version",
]


def pyzmq_version() -> str:
    out = subprocess.run([sys.executable, "-c", "import zmq; print(zmq.__version__)"],
                         capture_output=True, text=True, check=True, cwd=BUILD)
    return out.stdout.strip()


def fetch(version: str) -> str:
    """-> the folder holding pyzmq's tests/ and pytest.ini (cached in build/)."""
    dest = os.path.join(BUILD, "pyzmq-tests-" + version)
    if os.path.isdir(os.path.join(dest, "tests")):
        return dest
    sdist = os.path.join(BUILD, "pyzmq-%s.tar.gz" % version)
    if not os.path.exists(sdist):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        "pyzmq==" + version, "-d", BUILD], check=True)
    prefix = "pyzmq-%s/" % version
    with tarfile.open(sdist) as tar:
        members = []
        for m in tar.getmembers():
            if m.name.startswith(prefix + "tests/") or m.name == prefix + "pytest.ini":
                m.name = m.name[len(prefix):]
                members.append(m)
        tar.extractall(dest, members=members, filter="data")
    return dest


def plugins() -> str:
    """pytest-asyncio (pyzmq's tests need it) in build/, off the project's .venv."""
    deps = os.path.join(BUILD, "pyzmq-tests-deps")
    if not os.path.isdir(os.path.join(deps, "pytest_asyncio")):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", deps,
                        "pytest-asyncio>=0.17"], check=True)
    return deps


def summarize(xml_path: str) -> tuple[dict, list]:
    """-> ({file: [passed, failed, skipped]}, [(test id, first line of the reason)])"""
    per, failures = {}, []
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        f = os.path.basename(case.get("file") or "?")
        if not case.get("classname"):  # a file that did not import
            err = case.find("error")
            why = (err.get("message") or "") if err is not None else ""
            failures.append((f, "NOT COLLECTED: " + why[:160]))
            per["NOT COLLECTED " + f] = [0, 0, 0]
            continue
        row = per.setdefault(f, [0, 0, 0])
        test = case.get("classname").split(".")[2:] + [case.get("name")]
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is not None:
            row[1] += 1
            msg = (bad.get("message") or "").strip().splitlines()
            failures.append(("%s::%s" % (f, "::".join(test)), msg[0][:160] if msg else ""))
        elif case.find("skipped") is not None:
            row[2] += 1
        else:
            row[0] += 1
    return per, failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", help="test files (default: the fifteen of issue 12)")
    ap.add_argument("--min-pass", type=float, default=0.9, help="fail below this share of tests passed")
    ap.add_argument("-k", default=None, help="pytest -k expression")
    args = ap.parse_args(argv)
    os.makedirs(BUILD, exist_ok=True)
    src = fetch(pyzmq_version())
    deps = plugins()
    files = ["tests/%s.py" % f.replace(".py", "").replace("tests/", "") for f in (args.files or FILES)]
    xml = os.path.join(BUILD, "pyzmq-tests.xml")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, deps]))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "zmq_skips",
           "--continue-on-collection-errors", "--timeout", "30", "--junitxml", xml, "-o", "junit_family=xunit1"]
    if args.k:
        cmd += ["-k", args.k]
    subprocess.run(cmd + files, cwd=src, env=env)
    per, failures = summarize(xml)
    total = [sum(r[i] for r in per.values()) for i in range(3)]
    print("\npyzmq's own tests against edgezmq (%s)" % os.path.basename(src))
    print("%-34s %6s %6s %6s" % ("file", "pass", "fail", "skip"))
    for f in sorted(per):
        print("%-34s %6d %6d %6d" % (f, *per[f]))
    ran = total[0] + total[1]
    share = total[0] / ran if ran else 0.0
    print("%-34s %6d %6d %6d   %.1f %% of %d run tests pass" % ("total", *total, 100 * share, ran))
    for name, why in failures:
        print("FAIL %s: %s" % (name, why))
    uncollected = [f for f in per if f.startswith("NOT COLLECTED")]
    if uncollected:
        print("files that did not import (their tests are not counted above): %s" % ", ".join(uncollected))
    return 0 if share >= args.min_pass and not uncollected else 1


if __name__ == "__main__":
    sys.exit(main())
