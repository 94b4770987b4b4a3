"""The layers of docs/architecture.md, checked on the code: module-level
imports of core/ form no cycle, and the sans-IO layers import nothing above
them. (Imports inside functions are the deliberate lazy ones and are not
edges here.)"""
import ast
import os

from support import ROOT

CORE = os.path.join(ROOT, "core")
CPYTHON_ONLY = ("cli", "auth")


def _modules():
    out = {}
    for base, dirs, files in os.walk(CORE):
        dirs[:] = [d for d in dirs if d not in CPYTHON_ONLY and d != "__pycache__"]
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(base, f), CORE)[:-3].replace(os.sep, ".")
                name = "edgezmq" if rel == "__init__" else "edgezmq." + rel.replace(".__init__", "")
                out[name] = os.path.join(base, f)
    return out


def _module_level(tree):
    """Statements that run at import: the module body, inside if/try too."""
    stack = list(tree.body)
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.If, ast.Try)):
            stack.extend(n.body)
            stack.extend(n.orelse)
            for h in getattr(n, "handlers", []):
                stack.extend(h.body)
            continue
        yield n


def import_graph():
    mods = _modules()
    graph = {m: set() for m in mods}
    for m, path in mods.items():
        pkg = m if path.endswith("__init__.py") else m.rsplit(".", 1)[0]
        with open(path) as f:
            tree = ast.parse(f.read())
        for n in _module_level(tree):
            if isinstance(n, ast.ImportFrom):
                if n.level:
                    parts = pkg.split(".")
                    target = ".".join(parts[: len(parts) - (n.level - 1)] + ([n.module] if n.module else []))
                else:
                    target = n.module or ""
                for a in n.names:
                    full = target + "." + a.name
                    if full in graph:
                        graph[m].add(full)
                    elif target in graph:
                        graph[m].add(target)
            elif isinstance(n, ast.Import):
                graph[m].update(a.name for a in n.names if a.name in graph)
    return graph


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_cycle_in_core():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _reaches(graph, start):
    seen, todo = set(), [start]
    while todo:
        for w in graph[todo.pop()]:
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def test_sans_io_layers_import_nothing_above_them():
    graph = import_graph()
    above = ("edgezmq.socket", "edgezmq.context", "edgezmq.session", "edgezmq.reactor", "edgezmq.poll",
             "edgezmq.patterns", "edgezmq.transports.stream", "edgezmq.transports.connecter")
    for low in ("edgezmq.zmtp.connection", "edgezmq.zmtp.frames", "edgezmq.transports.serial.link",
                "edgezmq.security.curve", "edgezmq.security.plain"):
        bad = sorted(m for m in _reaches(graph, low) if m.startswith(above))
        assert bad == [], "%s reaches %s" % (low, bad)
