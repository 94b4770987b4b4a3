"""Build script beside pyproject.toml (which holds the metadata): the two
things pyproject alone cannot say.

- Package discovery under the package-dir mapping: every package below
  core/ is edgezmq.<name>, every one below ports/ is edgezmq.ports.<name>.
- The cffi fast paths (ports/cpython/_zmtpfast_build.py, _linkfast_build.py)
  as optional extensions: without a C compiler (or Python headers) the build
  warns, skips them, and the pure-Python fallback installs alone.
"""
from setuptools import find_packages, setup

ROOTS = (("edgezmq", "core"), ("edgezmq.ports", "ports"))
SKIP = ["build", "build.*", "*.build", "*.build.*"]  # scratch trees (a freeze build under ports/micropython)
CFFI_MODULES = ["ports/cpython/_zmtpfast_build.py:ffi", "ports/cpython/_linkfast_build.py:ffi"]


def packages():
    out = []
    for name, folder in ROOTS:
        out.append(name)
        out += [name + "." + p for p in find_packages(folder, exclude=SKIP)]
    return out


def cffi_modules():
    try:
        import cffi  # noqa: F401  (build-system requires it; a plain setup.py run may lack it)
    except ImportError:
        return {}
    return {"cffi_modules": CFFI_MODULES}


setup(packages=packages(), package_dir=dict(ROOTS), **cffi_modules())
