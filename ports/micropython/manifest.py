# Freeze edgezmq into a MicroPython firmware: frozen bytecode runs from flash,
# so the code costs no heap (see docs/micropython.md, "Freezing"). In your
# board manifest:
#     include("/path/to/edgezmq/ports/micropython/manifest.py")
# then build as usual (make BOARD=... FROZEN_MANIFEST=...). The repository keeps
# the package as core/ + ports/, so this stages edgezmq/ with the bundle builder
# (plain .py; makemanifest compiles it, viper included, for the board) into a
# temporary folder, removed when makemanifest exits: nothing is written into
# the checkout, which may be read-only.
# ruff: noqa: F821  (metadata and package are provided by makemanifest)
import atexit
import importlib.util
import os
import shutil
import tempfile

# no version= here: makemanifest would append `__version__ = ...` to every
# frozen module, a dict slot each at import (~0.3 KB of heap for a connected
# client); edgezmq.__version__ comes from the package's __init__.py
metadata(description="ZeroMQ (ZMTP 3.1) in pure Python", license="MPL-2.0")

_here = os.getcwd()  # makemanifest runs each manifest from its own folder
if not os.path.exists(os.path.join(_here, "manifest.py")):
    _here = os.path.dirname(os.path.abspath(__file__))
# the package's folder: core/ in a checkout, edgezmq/ where a wheel installed it
_core = os.path.normpath(os.path.join(_here, "..", ".."))
if os.path.isdir(os.path.join(_core, "core")):
    _core = os.path.join(_core, "core")
_ports = os.path.normpath(os.path.join(_here, ".."))
# the builder is loaded by path: the firmware build's Python need not have edgezmq
_spec = importlib.util.spec_from_file_location("edgezmq_bundle", os.path.join(_core, "cli", "bundle.py"))
_bundle = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bundle)
# makemanifest compiles the files after every manifest has run, in the same
# process: the folder must live until then, and no longer
_stage = tempfile.mkdtemp(prefix="edgezmq-freeze-")
atexit.register(shutil.rmtree, _stage, True)
_bundle.build(_stage, dirs=(_core, _ports))  # these files, not whichever edgezmq Python imports
package("edgezmq", base_path=_stage, opt=3)
