"""Type-check the device package against MicroPython's own stubs, once per board.

    python tests/mp_typecheck.py [--board unix|rp2|esp32 ...] [--root DIR]

What is checked: exactly what goes onto a device -- the files the bundle
builder (core/cli/bundle.py) puts in edgezmq/ (core/ less its
CPython-only front ends such as core/cli/, ports/__init__.py, ports/micropython/) plus the
device demo script. They are staged as the package `edgezmq` and run through
mypy with the board's stub package (micropython-<board>-stubs +
micropython-stdlib-stubs, pip-installed into .stubs/<board> by the Makefile)
as the whole standard library: a module, function or constant that the board
lacks (`import threading`, `time.monotonic`, `socket.SO_REUSEPORT`...) is an
error. micropython-stdlib-stubs ships CPython's full `builtins`, `os` and
`sys`, so those are cut down to what MicroPython has (BUILTINS,
BUILTIN_METHODS, OS_API, SYS_API below): `str.ljust`, `int.bit_length`,
`ConnectionResetError`, `os.getpid`, `sys.getrefcount` are errors too.

The goal is API availability, not typing: bodies of unannotated functions are
checked (that is where the calls are), but only the error codes that mean
"this name does not exist there" are reported (REPORTED_CODES), and not the
ones about a value mypy thinks may be None or about our own classes.

A line whose comment says `# port-ok: <reason>` is exempt (the same marker
tests/test_portable.py accepts for CPython-only imports in core/): use it for
code that only CPython reaches, or board-specific code behind try/except.
Exit status: 0 clean, 1 findings, 2 the check itself could not run.
"""
import argparse
import ast
import importlib.util
import io
import os
import re
import subprocess
import sys
import tempfile
import time
import tokenize

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BOARDS = ("unix", "rp2", "esp32")
PLATFORM = {"unix": "linux", "rp2": "rp2", "esp32": "esp32"}  # sys.platform on the board
# device-side scripts that are not modules of the package but run on a board
EXTRA_SCRIPTS = ("ports/micropython/demo_device.py",)

# "this does not exist on MicroPython" -- everything else is typing noise here
REPORTED_CODES = {"import-not-found", "import-untyped", "attr-defined", "name-defined", "call-arg", "union-attr"}
NONE_NOISE = re.compile(r'^("None" has no attribute|Item "None" of )')
# an attribute of one of our own classes is about our code's shape, not MicroPython's API
OWN_ATTR = re.compile(r'^(?:Item )?"(\w+)"(?: of "[^"]*")? has no attribute ')

# MicroPython's os and sys (the unix port's from dir() of the real interpreter,
# the boards' from the MicroPython library docs for rp2/esp32 builds).
_OS_BOARD = {"chdir", "getcwd", "ilistdir", "listdir", "mkdir", "remove", "rename", "rmdir", "stat",
             "statvfs", "sync", "uname", "urandom", "dupterm", "dupterm_notify", "mount", "umount",
             "VfsFat", "VfsLfs1", "VfsLfs2"}
_OS_UNIX = {"chdir", "getcwd", "ilistdir", "listdir", "mkdir", "remove", "rename", "rmdir", "stat",
            "statvfs", "unlink", "urandom", "mount", "umount", "errno", "getenv", "putenv", "unsetenv",
            "system", "sep", "VfsFat", "VfsLfs1", "VfsLfs2", "VfsPosix"}
_SYS_BOARD = {"argv", "atexit", "byteorder", "exc_info", "exit", "implementation", "maxsize", "modules",
              "path", "platform", "print_exception", "ps1", "ps2", "stderr", "stdin", "stdout",
              "version", "version_info"}
# builtins: names and methods of the unix port's interpreter (dir()); a board's
# build can lack some of them (the check is then optimistic, never noisy).
BUILTINS = {
    "ArithmeticError", "AssertionError", "AttributeError", "BaseException", "EOFError", "Ellipsis",
    "Exception", "GeneratorExit", "ImportError", "IndentationError", "IndexError", "KeyError",
    "KeyboardInterrupt", "LookupError", "MemoryError", "NameError", "NotImplemented",
    "NotImplementedError", "OSError", "OverflowError", "RuntimeError", "StopAsyncIteration",
    "StopIteration", "SyntaxError", "SystemExit", "TypeError", "UnicodeError", "ValueError",
    "ZeroDivisionError", "abs", "all", "any", "bin", "bool", "bytearray", "bytes", "callable", "chr",
    "classmethod", "compile", "complex", "delattr", "dict", "dir", "divmod", "enumerate", "eval", "exec",
    "filter", "float", "frozenset", "getattr", "globals", "hasattr", "hash", "help", "hex", "id", "input",
    "int", "isinstance", "issubclass", "iter", "len", "list", "locals", "map", "max", "memoryview", "min",
    "next", "object", "oct", "open", "ord", "pow", "print", "property", "range", "repr", "reversed",
    "round", "set", "setattr", "slice", "sorted", "staticmethod", "str", "sum", "super", "tuple", "type",
    "zip", "execfile",
    "const", "uint", "ptr", "ptr8", "ptr16", "ptr32",  # MicroPython's (const, viper types)
    "function", "ellipsis", "reveal_type", "reveal_locals",  # mypy's own
}
_STR = {"center", "count", "endswith", "find", "format", "index", "isalpha", "isdigit", "islower",
        "isspace", "isupper", "join", "lower", "lstrip", "partition", "replace", "rfind", "rindex",
        "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "upper"}
BUILTIN_METHODS = {
    "str": _STR | {"encode"},
    "bytes": _STR | {"decode", "fromhex", "hex"},
    "bytearray": _STR | {"decode", "fromhex", "hex", "append", "extend"},
    "int": {"from_bytes", "to_bytes"},
    "float": set(),
    "list": {"append", "clear", "copy", "count", "extend", "index", "insert", "pop", "remove", "reverse", "sort"},
    "dict": {"clear", "copy", "fromkeys", "get", "items", "keys", "pop", "popitem", "setdefault", "update",
             "values"},
    "set": {"add", "clear", "copy", "difference", "difference_update", "discard", "intersection",
            "intersection_update", "isdisjoint", "issubset", "issuperset", "pop", "remove",
            "symmetric_difference", "symmetric_difference_update", "union", "update"},
    "frozenset": {"copy", "difference", "intersection", "isdisjoint", "issubset", "issuperset",
                  "symmetric_difference", "union"},
    "tuple": {"count", "index"},
    "memoryview": {"hex"},
}
OS_API = {"unix": _OS_UNIX, "rp2": _OS_BOARD, "esp32": _OS_BOARD}
SYS_API = {"unix": _SYS_BOARD | {"executable"}, "rp2": _SYS_BOARD, "esp32": _SYS_BOARD}

LINE = re.compile(r"^(?P<path>[^:\n]+\.pyi?):(?P<line>\d+): error: (?P<msg>.*?)  \[(?P<code>[a-z-]+)\]$")
SUMMARY = re.compile(r"(?:Found \d+ errors? in \d+ files? \(checked|Success: no issues found in) (\d+) source files?")


class SetupError(Exception):
    pass


def device_sources(root):
    """-> [(repo-relative source path, path inside the staged tree)], from the bundle builder."""
    spec = importlib.util.spec_from_file_location(
        "edgezmq_bundle_tc", os.path.join(root, "core", "cli", "bundle.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    # the checkout under `root`, not whichever edgezmq this Python imports;
    # the builder leaves out core/cli (CPython-only, may import anything)
    out = [(os.path.relpath(src, root), rel) for src, rel in mod.sources(mod.checkout_dirs(root))]
    out += [(p, os.path.basename(p)) for p in EXTRA_SCRIPTS if os.path.exists(os.path.join(root, p))]
    return out


def exempt_port_ok(text):
    """Give every line marked `# port-ok` a leading `# type: ignore` comment."""
    rows = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                row, col = tok.start
                rows.setdefault(row, [col, False])
                if "port-ok" in tok.string:
                    rows[row][1] = True
    except (tokenize.TokenError, SyntaxError):
        return text  # mypy reports the syntax error itself
    lines = text.splitlines(True)
    for row, (col, marked) in rows.items():
        line = lines[row - 1]
        if marked and "type: ignore" not in line:
            lines[row - 1] = line[:col] + "# type: ignore  " + line[col:]
    return "".join(lines)


def _class_names(text):
    try:
        return {n.name for n in ast.walk(ast.parse(text)) if isinstance(n, ast.ClassDef)}
    except SyntaxError:
        return set()


def stage(root, dst):
    """Copy the device package into dst (as edgezmq/...).

    -> ({staged path: repo path}, names of the classes it defines)"""
    mapping, classes = {}, set()
    for src, rel in device_sources(root):
        with open(os.path.join(root, src), encoding="utf-8") as f:
            text = f.read()
        classes |= _class_names(text)
        text = exempt_port_ok(text)
        path = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        mapping[rel] = src
    return mapping, classes


def _dunder(name):
    return name.startswith("__") and name.endswith("__")


def _prune(text, keep, methods=None, exceptions=False):
    """Cut a CPython stub down to MicroPython's API.

    Drops the module-level functions, public variables and lowercase classes
    (os.stat_result...) whose names are not in keep; with exceptions=True also
    the exception classes not in keep; in the classes named in methods, the
    non-dunder methods not listed there."""
    tree = ast.parse(text)
    methods = methods or {}

    def gone(name):  # _private names are the stub's own type aliases: kept
        return (not name.startswith("_") or _dunder(name)) and name not in keep

    def exception(node):
        return any(isinstance(b, ast.Name) and b.id.endswith(("Error", "Exception", "Warning", "Exit",
                                                              "Interrupt", "Iteration"))
                   for b in node.bases) or node.name.endswith(("Error", "Warning"))

    def walk(body, cls=None):
        out = []
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if cls is None and node.name not in keep and not (_dunder(node.name) and exceptions):
                    continue
                if cls is not None and not _dunder(node.name) and node.name not in methods[cls]:
                    continue
            elif cls is not None:
                pass
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and gone(node.target.id):
                continue
            elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and gone(t.id) for t in node.targets):
                continue
            elif isinstance(node, ast.ClassDef):
                if gone(node.name) and (node.name[:1].islower() and node.name not in methods
                                        or exceptions and exception(node)):
                    continue
                if node.name in methods:
                    node.body = walk(node.body, node.name) or [ast.Expr(ast.Constant(...))]
            if isinstance(node, ast.If):
                node.body = walk(node.body, cls) or [ast.Expr(ast.Constant(...))]
                node.orelse = walk(node.orelse, cls)
            out.append(node)
        return out

    tree.body = walk(tree.body)
    return "# cut to MicroPython's API by tests/mp_typecheck.py\n" + ast.unparse(tree) + "\n"


def _write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except OSError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def typeshed_for(board, stubs):
    """A typeshed-shaped dir: the board package's stdlib/ with os and sys cut to MicroPython's."""
    src = os.path.join(stubs, board, "stdlib")
    if not os.path.isfile(os.path.join(src, "VERSIONS")):
        raise SetupError("no stubs for %s in %s (run `make typecheck`, which installs them)"
                         % (board, os.path.join(stubs, board)))
    dst = os.path.join(stubs, "typeshed", board)
    for d, _, files in os.walk(os.path.join(stubs, board)):
        for f in files:
            path = os.path.join(d, f)
            rel = os.path.relpath(path, os.path.join(stubs, board)).replace(os.sep, "/")
            if not rel.startswith(("stdlib/", "stubs/")):  # stubs/: mypy_extensions
                continue
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            if rel == "stdlib/os/__init__.pyi":
                text = _prune(text, OS_API[board])
            elif rel == "stdlib/sys/__init__.pyi":
                text = _prune(text, SYS_API[board])
            elif rel == "stdlib/builtins.pyi":
                text = _prune(text, BUILTINS, BUILTIN_METHODS, exceptions=True)
            _write_if_changed(os.path.join(dst, rel), text)
    return dst


def run_board(board, stage_dir, stubs, mypy_cmd):
    typeshed = typeshed_for(board, stubs)
    cmd = mypy_cmd + [
        "--custom-typeshed-dir", typeshed,
        "--cache-dir", os.path.join(stubs, ".mypy_cache", board),
        "--config-file", os.path.join(stage_dir, "mypy.ini"),
        "--platform", PLATFORM[board],
        "--no-site-packages",
        "--follow-imports", "silent",
        "--check-untyped-defs",
        "--show-error-codes", "--no-pretty", "--hide-error-context", "--no-color-output",
    ] + sorted(f for f in os.listdir(stage_dir) if f == "edgezmq" or f.endswith(".py"))
    env = dict(os.environ, MYPYPATH=os.path.join(stubs, board))
    return subprocess.Popen(cmd, cwd=stage_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def parse(board, out, rc, mapping, classes):
    """-> [(repo path, line, code, message)] that count as findings."""
    if rc not in (0, 1):
        raise SetupError("mypy failed for %s (exit %d):\n%s" % (board, rc, out))
    m = SUMMARY.search(out)
    if not m or int(m.group(1)) != len(mapping):
        raise SetupError("mypy for %s did not check the %d staged files:\n%s" % (board, len(mapping), out))
    found = []
    for line in out.splitlines():
        m = LINE.match(line)
        if m is None:
            continue
        rel = m.group("path").replace(os.sep, "/")
        if rel not in mapping:
            continue  # an error inside a stub package: not ours
        msg = m.group("msg")
        if m.group("code") not in REPORTED_CODES or NONE_NOISE.match(msg):
            continue
        own = OWN_ATTR.match(msg)
        if own and own.group(1) in classes:
            continue
        found.append((mapping[rel], int(m.group("line")), m.group("code"), m.group("msg")))
    return found


def check(root=REPO, boards=BOARDS, stubs=None):
    """-> {(path, line, code, message): [boards]}; raises SetupError if mypy could not run."""
    stubs = stubs or os.path.join(REPO, ".stubs")
    mypy_cmd = [sys.executable, "-m", "mypy"]
    if importlib.util.find_spec("mypy") is None:
        raise SetupError("mypy is not installed in %s" % sys.executable)
    findings = {}
    with tempfile.TemporaryDirectory(prefix="mp-typecheck-") as tmp:
        mapping, classes = stage(root, tmp)
        with open(os.path.join(tmp, "mypy.ini"), "w") as f:
            f.write("[mypy]\n")  # no project config: every setting is on the command line
        procs = [(b, run_board(b, tmp, stubs, mypy_cmd)) for b in boards]
        for board, p in procs:
            out, _ = p.communicate()
            for f in parse(board, out, p.returncode, mapping, classes):
                findings.setdefault(f, []).append(board)
    return findings


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", action="append", choices=BOARDS, help="default: all of %s" % ", ".join(BOARDS))
    ap.add_argument("--root", default=REPO, help="source tree to check (default: this repository)")
    ap.add_argument("--stubs", default=None, help="where the board stub packages are (default: .stubs)")
    a = ap.parse_args(argv)
    boards = a.board or list(BOARDS)
    t0 = time.monotonic()
    try:
        findings = check(os.path.abspath(a.root), boards, a.stubs)
    except SetupError as e:
        print("mp_typecheck: %s" % e, file=sys.stderr)
        return 2
    for (path, line, code, msg), on in sorted(findings.items()):
        print("%s:%d: error: %s  [%s] (%s)" % (path, line, msg, code, ", ".join(on)))
    print("mp_typecheck: %s against MicroPython stubs for %s in %.1fs"
          % ("%d findings" % len(findings) if findings else "clean", ", ".join(boards), time.monotonic() - t0))
    if findings:
        print("Exempt a line only CPython (or one board) reaches with `# port-ok: <reason>`; see docs/porting.md.")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
