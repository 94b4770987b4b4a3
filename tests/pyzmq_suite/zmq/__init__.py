"""`zmq` as an alias of edgezmq, for running pyzmq's own tests against it.

With this folder first on PYTHONPATH, `import zmq` and `import zmq.X` give
edgezmq and edgezmq.X (the same module objects, not copies). A pyzmq module
edgezmq does not have falls back to tests/pyzmq_suite/zmq_shims/X, which
holds only pyzmq internals its tests reach into (zmq.backend, zmq.sugar...);
anything else is an ImportError, as it would be for a user.
"""
import importlib
import importlib.abc
import importlib.util
import sys

_PREFIX = "zmq."


def _target(name):
    """zmq.X -> the module that stands for it (edgezmq.X, else a shim)."""
    rest = name[len(_PREFIX):]
    try:
        return importlib.import_module("edgezmq." + rest)
    except ModuleNotFoundError as e:
        if e.name is not None and e.name != "edgezmq." + rest and not ("edgezmq." + rest).startswith(e.name + "."):
            raise  # the module exists but something it imports does not
    return importlib.import_module("zmq_shims." + rest)


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, name):
        self.name = name

    def create_module(self, spec):
        module = _target(spec.name)
        self.own_spec = module.__spec__  # the import system overwrites it
        return module

    def exec_module(self, module):
        module.__spec__ = self.own_spec  # already executed under its own name

    def get_code(self, fullname):  # python -m zmq.X runs edgezmq.X's code
        spec = importlib.util.find_spec("edgezmq." + fullname[len(_PREFIX):])
        return spec.loader.get_code(spec.name)


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(_PREFIX):
            return None
        rest = fullname[len(_PREFIX):]
        real, shim = _exists("edgezmq." + rest), _exists("zmq_shims." + rest)
        if not (real or shim):
            return None
        # a module is a package when either side has submodules (zmq.sugar is
        # edgezmq.sugar with shim submodules); otherwise `python -m zmq.X` runs it
        package = shim or real.submodule_search_locations is not None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(fullname), is_package=package)


def _exists(name):
    """-> the module's spec, or None."""
    try:
        return importlib.util.find_spec(name)
    except ImportError:  # a parent that is missing or not a package
        return None


if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _AliasFinder())

import edgezmq  # noqa: E402

sys.modules["zmq"] = edgezmq
# pyzmq's tests use zmq.backend and zmq.sugar.context without importing
# them; and edgezmq.sugar is a module, not pyzmq's package (`from zmq.sugar
# import version` looks for edgezmq.sugar.version): attached up front
for _sub in ("backend", "sugar.context", "sugar.socket", "sugar.version"):
    importlib.import_module("zmq." + _sub)
