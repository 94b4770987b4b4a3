"""The wheel holds the whole package: every module of core/ and ports/, the
device sources with package.json (for `edgezmq bundle`), and LICENSE.
`make test` also installs it into a fresh venv (tests/smoke_wheel.py)."""
import os
import sys
import zipfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import smoke_wheel  # noqa: E402


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return smoke_wheel.build_wheel(str(tmp_path_factory.mktemp("wheel")))


def test_wheel_has_every_module_and_device_file(wheel):
    smoke_wheel.check_contents(wheel)  # raises Failed naming what is missing
    names = zipfile.ZipFile(wheel).namelist()
    assert "edgezmq/patterns/__init__.py" in names
    assert "edgezmq/ports/micropython/package.json" in names


def test_wheel_metadata_license_is_spdx(wheel):
    meta = [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".dist-info/METADATA")]
    text = zipfile.ZipFile(wheel).read(meta[0]).decode()
    assert "License-Expression: MPL-2.0" in text
    assert "Author: edgezmq maintainers" in text


def test_check_contents_names_a_missing_module(wheel, tmp_path):
    """The check itself can fail: a wheel without edgezmq/patterns/ is refused."""
    bad = str(tmp_path / os.path.basename(wheel))
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(bad, "w") as dst:
        for n in src.namelist():
            if not n.startswith("edgezmq/patterns/"):
                dst.writestr(n, src.read(n))
    with pytest.raises(smoke_wheel.Failed, match="patterns"):
        smoke_wheel.check_contents(bad)
