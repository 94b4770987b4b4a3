"""The MicroPython packaging: `edgezmq bundle`, package.json (mip), manifest.py (freezing)."""
import json
import os
import shutil
import subprocess
import sys

import pytest
from edgezmq.cli import bundle as cmd_bundle
from support import ROOT

MPY_PORT = os.path.join(ROOT, "ports", "micropython")


def _tree(d):
    out = set()
    for base, _, files in os.walk(d):
        for f in files:
            out.add(os.path.relpath(os.path.join(base, f), d).replace(os.sep, "/"))
    return out


def test_bundle_cli_plain(tmp_path):
    r = subprocess.run([sys.executable, "-m", "edgezmq", "bundle", "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    files = _tree(tmp_path)
    for need in ("edgezmq/__init__.py", "edgezmq/socket.py", "edgezmq/patterns/pubsub.py",
                 "edgezmq/ports/__init__.py", "edgezmq/ports/micropython/port.py"):
        assert need in files
    assert "edgezmq/__main__.py" not in files  # CPython-only front ends
    assert not any(f.startswith("edgezmq/cli/") for f in files)
    assert not any("cpython" in f for f in files)
    with open(tmp_path / "edgezmq" / "socket.py") as f, open(os.path.join(ROOT, "core", "socket.py")) as g:
        assert f.read() == g.read()


def test_bundle_from_an_installed_layout(tmp_path):
    """A wheel installs core/ as site-packages/edgezmq/ and ports/ inside it:
    the builder finds its sources through the imported packages, so the bundle
    is the same as from the checkout, and neither cli/ nor a second copy of
    ports/ lands in the device package."""
    site = tmp_path / "site"
    shutil.copytree(os.path.join(ROOT, "core"), site / "edgezmq", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(os.path.join(ROOT, "ports"), site / "edgezmq" / "ports",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    env = dict(os.environ, PYTHONPATH=str(site))
    # -S: no site-packages, so the editable install of the checkout is out of reach
    r = subprocess.run([sys.executable, "-S", "-m", "edgezmq", "bundle", "--out", str(tmp_path / "wheel")],
                       capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    cmd_bundle.build(str(tmp_path / "checkout"))
    installed, checkout = _tree(tmp_path / "wheel"), _tree(tmp_path / "checkout")
    assert installed == checkout
    assert not any(f.startswith(("edgezmq/cli/", "edgezmq/ports/ports/")) for f in installed)
    for f in installed:
        assert (tmp_path / "wheel" / f).read_bytes() == (tmp_path / "checkout" / f).read_bytes(), f


def test_bundle_cli_mpy(tmp_path):
    if cmd_bundle.find_mpy_cross() is None:
        pytest.skip("mpy-cross not installed")
    r = subprocess.run([sys.executable, "-m", "edgezmq", "bundle", "--out", str(tmp_path), "--mpy"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    files = _tree(tmp_path)
    assert "edgezmq/socket.mpy" in files and "edgezmq/socket.py" not in files
    assert "edgezmq/ports/micropython/port.mpy" in files
    # native code needs the board's -march: shipped as source unless --march is given
    assert "edgezmq/ports/micropython/viper.py" in files
    with open(tmp_path / "edgezmq" / "socket.mpy", "rb") as f:
        assert f.read(1) == b"M"


def test_package_json_lists_the_bundle():
    with open(os.path.join(MPY_PORT, "package.json")) as f:
        committed = json.load(f)
    assert committed == cmd_bundle.package_json(), (
        "ports/micropython/package.json is stale: python -m edgezmq bundle --out /tmp/x --package-json"
    )
    for _dest, url in committed["urls"]:
        assert os.path.exists(os.path.normpath(os.path.join(MPY_PORT, url))), url


def test_manifest_stages_the_package(monkeypatch):
    calls = []
    g = {
        "__file__": os.path.join(MPY_PORT, "manifest.py"),
        "metadata": lambda **kw: calls.append(("metadata", kw)),
        "package": lambda name, files=None, base_path=".", opt=None: calls.append(("package", name, base_path)),
    }
    monkeypatch.chdir(MPY_PORT)  # makemanifest runs a manifest from its folder
    with open(os.path.join(MPY_PORT, "manifest.py")) as f:
        exec(compile(f.read(), "manifest.py", "exec"), g)  # noqa: S102 - the manifest is Python by design
    (pkg,) = [c for c in calls if c[0] == "package"]
    assert pkg[1] == "edgezmq"
    staged = _tree(os.path.join(pkg[2], "edgezmq"))
    assert {"__init__.py", "socket.py", "ports/micropython/port.py"} <= staged
