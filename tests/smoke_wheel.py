"""Build the wheel, install it into a fresh venv outside the checkout, and try
it there as a user would: the editable install of `make .venv/.installed`
hides a module missing from the wheel, this does not.

    python tests/smoke_wheel.py [--wheel-dir DIR] [--keep]

Steps (each prints one line; the first failure exits 1 with its reason):
wheel contents (every package under core/ and ports/, the device sources and
package.json, LICENSE), `import edgezmq` from the venv, a REQ/REP round trip
with pyzmq both ways, whether the cffi fast paths are active (required when
a C compiler is there), CURVE PUSH/PULL with pyzmq both ways (pynacl from
the `[curve]` extra; the C boxes required with the fast paths),
`edgezmq --help`, `edgezmq bundle --out DIR`.
"""
from __future__ import annotations

import argparse
import glob
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import zipfile
from functools import partial

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# run in the venv, from a folder outside the checkout
ROUND_TRIP = r"""
import sys
import edgezmq, zmq
assert "%s" not in edgezmq.__file__, edgezmq.__file__
for server, client in ((zmq, edgezmq), (edgezmq, zmq)):
    sctx, cctx = server.Context(), client.Context()
    rep = sctx.socket(server.REP)
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    req = cctx.socket(client.REQ)
    for s in (rep, req):
        s.linger = 0
        s.rcvtimeo = 5000
    req.connect("tcp://127.0.0.1:%%d" %% port)
    req.send(b"ping")
    rep.send(rep.recv() + b" pong")
    assert req.recv() == b"ping pong"
    req.close(); rep.close(); sctx.term(); cctx.term()
from edgezmq.ports.cpython import linkfast, zmtpfast
print("fast=%%d" %% (zmtpfast.active and linkfast.load()))
"""

# CURVE with pyzmq both ways (the [curve] extra's pynacl), 1 B to 70 KB messages
CURVE = r"""
import edgezmq, zmq
spub, ssec = zmq.curve_keypair()
cpub, csec = zmq.curve_keypair()
msgs = [bytes([i % 251]) * (i * 37 % 2000) for i in range(400)] + [b"big" * 23000]
for server, client in ((zmq, edgezmq), (edgezmq, zmq)):
    sctx, cctx = server.Context(), client.Context()
    pull = sctx.socket(server.PULL)
    pull.curve_server, pull.curve_secretkey, pull.curve_publickey = True, ssec, spub
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push = cctx.socket(client.PUSH)
    push.curve_serverkey, push.curve_publickey, push.curve_secretkey = spub, cpub, csec
    for s in (pull, push):
        s.linger = 0
        s.rcvtimeo = 5000
    push.connect("tcp://127.0.0.1:%d" % port)
    for m in msgs:
        push.send(m)
    assert [pull.recv() for _ in msgs] == msgs
    push.close(); pull.close(); sctx.term(); cctx.term()
from edgezmq.ports.cpython import boxruns
print("boxes=%d" % (boxruns._lib is not None))
"""


print = partial(print, flush=True)  # noqa: A001  (lines in order with the tools' output)


class Failed(Exception):
    pass


def run(cmd: list[str], cwd: str, what: str) -> str:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise Failed("%s failed (exit %d): %s\n%s%s" % (what, r.returncode, shlex.join(cmd), r.stdout[-2000:], r.stderr[-3000:]))
    return r.stdout


def have_compiler() -> bool:
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return shutil.which(shlex.split(cc)[0]) is not None


def expected_members() -> set[str]:
    """Paths the wheel must hold: every .py of core/ and ports/ (as edgezmq/...),
    the mip package.json and the device sources."""
    out = {"edgezmq/ports/micropython/package.json"}
    for folder, dest in (("core", "edgezmq"), ("ports", "edgezmq/ports")):
        base = os.path.join(ROOT, folder)
        for path in glob.glob(os.path.join(base, "**", "*.py"), recursive=True):
            rel = os.path.relpath(path, base).replace(os.sep, "/")
            if "build" not in rel.split("/"):  # scratch trees, not the package
                out.add(dest + "/" + rel)
    return out


def build_wheel(dest: str) -> str:
    for stale in glob.glob(os.path.join(ROOT, "build", "lib*")) + glob.glob(os.path.join(ROOT, "build", "bdist*")):
        shutil.rmtree(stale)  # setuptools copies into build/ and never deletes a moved module
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dest, ROOT], ROOT, "pip wheel .")
    wheels = glob.glob(os.path.join(dest, "edgezmq-*.whl"))
    if len(wheels) != 1:
        raise Failed("pip wheel: expected one edgezmq wheel in %s, found %r" % (dest, wheels))
    return wheels[0]


def check_contents(wheel: str) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(expected_members() - names)
    if missing:
        raise Failed("wheel lacks %d files: %s" % (len(missing), ", ".join(missing[:10])))
    if not any(n.endswith("/LICENSE") and ".dist-info/" in n for n in names):
        raise Failed("wheel has no LICENSE in its .dist-info")


def smoke(work: str, wheel: str | None) -> None:
    if wheel is None:
        wheel = build_wheel(os.path.join(work, "dist"))
    check_contents(wheel)
    print("smoke: wheel %s has every module, package.json, LICENSE" % os.path.basename(wheel))
    venv = os.path.join(work, "venv")
    run([sys.executable, "-m", "venv", venv], work, "python -m venv")
    py = os.path.join(venv, "bin", "python")
    run([py, "-m", "pip", "install", "-q", wheel + "[curve]", "pyzmq"], work, "pip install the wheel")
    print("smoke: installed into %s" % venv)
    out = run([py, "-c", ROUND_TRIP % ROOT], work, "import edgezmq and REQ/REP with pyzmq")
    fast = "fast=1" in out
    print("smoke: import and REQ/REP with pyzmq both ways: ok (fast paths %s)" % ("active" if fast else "off"))
    if have_compiler() and not fast:
        raise Failed("a C compiler is here, yet the installed cffi fast paths are not active")
    out = run([py, "-c", CURVE], work, "CURVE PUSH/PULL with pyzmq")
    boxes = "boxes=1" in out
    print("smoke: CURVE PUSH/PULL with pyzmq both ways: ok (C boxes %s)" % ("active" if boxes else "off"))
    if fast and not boxes:
        raise Failed("the cffi fast paths are active, yet CURVE boxes are not opened and sealed in C")
    exe = os.path.join(venv, "bin", "edgezmq")
    out = run([exe, "--help"], work, "edgezmq --help")
    if "bundle" not in out:
        raise Failed("edgezmq --help does not list bundle:\n" + out)
    print("smoke: edgezmq --help: ok")
    out_dir = os.path.join(work, "bundle")
    try:
        run([exe, "bundle", "--out", out_dir], work, "edgezmq bundle --out DIR")
    except Failed as e:
        raise Failed("%s\n(the bundle must work from an installed package: the device sources ship in the wheel as edgezmq/ and edgezmq/ports/micropython/)" % e) from None
    for rel in ("edgezmq/__init__.py", "edgezmq/socket.py", "edgezmq/ports/micropython/port.py"):
        if not os.path.exists(os.path.join(out_dir, rel)):
            raise Failed("edgezmq bundle wrote no %s in %s: from an installed package it must take the "
                         "device sources from the package itself (edgezmq/, edgezmq/ports/micropython/), "
                         "there is no core/ beside it" % (rel, out_dir))
    if os.path.exists(os.path.join(out_dir, "edgezmq", "ports", "cpython")):
        raise Failed("edgezmq bundle: the CPython port must not be in the device bundle")
    print("smoke: edgezmq bundle: ok")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=textwrap.dedent(__doc__).splitlines()[0])
    ap.add_argument("--wheel", help="test this wheel instead of building one")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    a = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="edgezmq-smoke-")
    try:
        smoke(work, a.wheel)
    except Failed as e:
        print("smoke: FAILED: %s" % e, file=sys.stderr)
        print("smoke: work folder kept: %s" % work, file=sys.stderr)
        return 1
    if a.keep:
        print("smoke: work folder: %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print("smoke: the installed wheel works")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
