"""Mutation testing for tensornet: do the tests notice when the code is wrong?

Every mutant changes one token of a module (an arithmetic or comparison operator, a boolean
operator or constant, an integer constant, a ``.T`` transpose dropped, a ``not`` dropped), the
tests that execute the mutated line run against it, and the mutant is *killed* when one fails
(or times out). The score of a module is killed / all; survivors are printed with their line so
a person can judge each one: a missing test, or an equivalent mutant (no behaviour can tell it
apart), whose reason goes into ``tools/mutation_equivalent.json``.

Two things keep it fast enough for a whole package:

* **per-line test selection.** One run of the tests in scope under coverage.py, with one
  coverage context per test, maps every line of the target modules to the tests that execute
  it; a mutant runs only those (fastest first, stopping at the first failure), and a mutant on
  a line no test executes is *uncovered*, a survivor, without running anything. coverage.py is
  an optional dependency of the tool: without it, every mutant runs its module's mirror test
  file.
* **a fork server.** The tool imports once every third-party module the tests need (NumPy,
  SciPy, autograd, numba, Hypothesis, pytest, ...) but not tensornet, and forks a child per
  mutant that runs ``pytest.main`` on the selected tests: tensornet is imported fresh, mutated,
  from disk. A child that outlives its timeout is killed, and the mutant counts as killed.

Run from the repository root (it edits the module in place and always restores it)::

    python tools/mutate.py tensornet/algebra/truncation.py
    python tools/mutate.py tensornet/formats/tt.py --tests tests/formats/test_tt.py --max 60
    python tools/mutate.py --all   # decompositions/, formats/, algebra/, nn/layers.py, nn/optim.py

It does not run in CI; ``--out`` (default ``benchmarks/results/mutation.json``) keeps the last
results, merged per module, with each module's first complete run kept as its ``before``.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib
import importlib.util
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
import tokenize
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "mutation.json"
EQUIVALENT = ROOT / "tools" / "mutation_equivalent.json"
ALL_TARGETS = [
    "tensornet/decompositions",
    "tensornet/formats",
    "tensornet/algebra",
    "tensornet/nn/layers.py",
    "tensornet/nn/optim.py",
]

#: one-token replacements (each original token gives one mutant per replacement)
SWAPS = {
    "+": ["-"],
    "-": ["+"],
    "*": ["/"],
    "/": ["*"],
    "//": ["/"],
    "**": ["*"],
    "<": ["<="],
    "<=": ["<"],
    ">": [">="],
    ">=": [">"],
    "==": ["!="],
    "!=": ["=="],
    "and": ["or"],
    "or": ["and"],
    "True": ["False"],
    "False": ["True"],
    "is": ["is not"],
}


@dataclass
class Mutant:
    """One single-token change: where, what it was, what it became."""

    id: str
    line: int
    col: int
    original: str
    mutated: str
    source_line: str
    status: str = "pending"


def mutants(path: Path) -> list[Mutant]:
    """Every mutant of the module at ``path`` (docstrings and comments are left alone)."""
    text = path.read_text()
    lines = text.splitlines()
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    out: list[Mutant] = []

    def add(tok: tokenize.TokenInfo, new: str, length: int | None = None) -> None:
        (row, col), original = tok.start, tok.string
        if length is not None:
            original = lines[row - 1][col : col + length]
        out.append(
            Mutant(
                id=f"{path.as_posix()}:{row}:{col}:{original}->{new}",
                line=row,
                col=col,
                original=original,
                mutated=new,
                source_line=lines[row - 1].strip(),
            )
        )

    for i, tok in enumerate(tokens):
        if tok.type in (tokenize.OP, tokenize.NAME) and tok.string in SWAPS:
            if tok.string == "-" and _unary(tokens, i):
                add(tok, "")
                continue
            for new in SWAPS[tok.string]:
                add(tok, new)
        elif tok.type == tokenize.NAME and tok.string == "not":
            add(tok, "", length=4)  # "not " removed
        elif tok.type == tokenize.NUMBER and tok.string.isdigit():
            value = int(tok.string)
            add(tok, str(value + 1))
            if value > 0:
                add(tok, str(value - 1))
        elif tok.type == tokenize.NAME and tok.string == "T" and tokens[i - 1].string == ".":
            dot = tokens[i - 1]
            add(dot, "", length=2)  # ".T" removed
    return out


def _unary(tokens: list[tokenize.TokenInfo], i: int) -> bool:
    prev = tokens[i - 1]
    return (
        prev.type == tokenize.OP
        and prev.string in "([{,=:+-*/<>%"
        or prev.string
        in (
            "return",
            "and",
            "or",
            "not",
            "in",
            "if",
            "else",
        )
    )


def apply(text: str, m: Mutant) -> str:
    lines = text.splitlines(keepends=True)
    line = lines[m.line - 1]
    lines[m.line - 1] = line[: m.col] + m.mutated + line[m.col + len(m.original) :]
    return "".join(lines)


def _compiles(text: str) -> bool:
    """Mutants that are not valid Python (``is not`` -> ``is not not``) are left out: any test
    run would "kill" them without telling anything."""
    try:
        compile(text, "<mutant>", "exec")
    except SyntaxError:
        return False
    return True


def tests_for(module: Path) -> list[str]:
    """The tests of a module by the mirror convention: ``tensornet/a/b.py`` ->
    ``tests/a/test_b.py`` (the folder ``tests/a`` when there is no such file)."""
    rel = module.relative_to("tensornet")
    mirror = Path("tests") / rel.parent / f"test_{rel.stem}.py"
    found = [str(mirror)] if (ROOT / mirror).exists() else []
    return found or [str(Path("tests") / rel.parent)]


def default_scope(targets: list[str]) -> list[str]:
    """The tests whose coverage is mapped: the mirror folder of a package target, the mirror
    file of a module target, the targets themselves (their doctests) and the bad-input table."""
    out: list[str] = []
    for target in targets:
        path = Path(target)
        if (ROOT / path).is_dir():
            mirror = Path("tests") / path.relative_to("tensornet")
        else:
            mirror = Path(tests_for(path)[0])
        for p in (mirror, path):
            if str(p) not in out and (ROOT / p).exists():
                out.append(str(p))
    if (ROOT / "tests" / "test_bad_input.py").exists():
        out.append("tests/test_bad_input.py")
    return out


# ---------------------------------------------------------------- which tests run which line


def _digest(paths: list[str], modules: list[Path]) -> str:
    """A fingerprint of the sources the coverage map depends on (tests in scope and modules)."""
    h = hashlib.sha256()
    files: list[Path] = []
    for p in [*paths, *map(str, modules)]:
        q = ROOT / p
        files += sorted(q.rglob("*.py")) if q.is_dir() else [q]
    for f in sorted(set(files)):
        h.update(f.relative_to(ROOT).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _map_child(modules: list[Path], scope: list[str], out: Path) -> None:
    """In a forked child: run the scope once under coverage.py, one context per test, and write
    ``{module: {line: [test indices]}}`` with the tests, their durations and outcomes."""
    import coverage
    import pytest

    cov = coverage.Coverage(
        data_file=None, include=[str(ROOT / m) for m in modules], branch=False, config_file=False
    )
    durations: dict[str, float] = {}
    failed: list[str] = []

    class Contexts:
        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_protocol(self, item, nextitem):
            cov.switch_context(item.nodeid)
            start = time.perf_counter()
            yield
            durations[item.nodeid] = time.perf_counter() - start
            cov.switch_context("")

        def pytest_runtest_logreport(self, report):
            if report.failed:
                failed.append(report.nodeid)

    cov.start()
    try:
        code = pytest.main(["-q", "-p", "no:cacheprovider", *scope], plugins=[Contexts()])
    finally:
        cov.stop()
    data = cov.get_data()
    tests = sorted(durations)
    index = {t: i for i, t in enumerate(tests)}
    lines: dict[str, dict[int, list[int]]] = {}
    for module in modules:
        by_line = data.contexts_by_lineno(str(ROOT / module)) or {}
        lines[module.as_posix()] = {
            int(ln): sorted(index[c] for c in ctx if c in index) for ln, ctx in by_line.items()
        }
    payload = {
        "exit_code": int(code),
        "tests": tests,
        "durations": [durations[t] for t in tests],
        "failed": sorted(set(failed)),
        "lines": lines,
        "imported": sorted(sys.modules),
    }
    out.write_text(json.dumps(payload))


def coverage_map(modules: list[Path], scope: list[str], cache: Path, server: ForkServer) -> dict:
    """The line -> tests map of ``modules`` over the tests in ``scope``, built once (in a child
    of the fork server) and kept in ``cache`` until a module or a test in scope changes."""
    key = _digest(scope, modules)
    if cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return cached
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".part")
    print(f"mapping which tests execute which line: {' '.join(scope)}", flush=True)
    start = time.perf_counter()
    status = server.run(lambda: _map_child(modules, scope, tmp), timeout=4 * 3600, quiet=False)
    if status != 0 or not tmp.exists():
        raise SystemExit(f"the coverage run over {scope} failed (status {status})")
    payload = json.loads(tmp.read_text())
    tmp.unlink()
    payload["key"] = key
    payload["scope"] = scope
    payload["seconds"] = time.perf_counter() - start
    cache.write_text(json.dumps(payload))
    print(f"mapped {len(payload['tests'])} tests in {payload['seconds']:.0f} s", flush=True)
    return payload


def _signature_lines(path: Path) -> dict[int, range]:
    """Lines of a def's decorators and signature (run at import, not when the function is
    called) -> the lines of its body, whose tests are the ones that call it."""
    out: dict[int, range] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            body = range(node.body[0].lineno, (node.end_lineno or node.body[0].lineno) + 1)
            for line in range(first, node.body[0].lineno):
                out[line] = body
    return out


class Selector:
    """The tests to run for a mutant on a given line of a module, fastest first."""

    def __init__(self, cmap: dict | None, module: Path, mirror: list[str]):
        self.module = module
        self.mirror = mirror
        self.cmap = cmap
        if cmap is None:
            return
        failed = set(cmap["failed"])
        self.names = cmap["tests"]
        self.durations = cmap["durations"]
        self.ok = {i for i, t in enumerate(self.names) if t not in failed}
        self.lines = {int(k): v for k, v in cmap["lines"].get(module.as_posix(), {}).items()}
        self.signature = _signature_lines(ROOT / module)
        self.jit = _body_lines(ROOT / module, jit=True)
        everything = set().union(*self.lines.values()) if self.lines else set()
        in_mirror = {i for i in everything if self.names[i].split("::")[0] in mirror}
        self.module_level = in_mirror or everything

    def __call__(self, line: int) -> tuple[list[str], float]:
        """The node ids for ``line`` (empty when no test executes it) and their total time."""
        if self.cmap is None:
            return list(self.mirror), 0.0
        ids = set(self.lines.get(line, ()))
        if line in self.signature:  # defaults and decorators: the tests that call it
            for body_line in self.signature[line]:
                ids |= set(self.lines.get(body_line, ()))
            if self.jit.intersection(self.signature[line]):
                ids = set(self.module_level)
        elif (line in self.lines and not ids) or line in self.jit:
            ids = set(self.module_level)  # run at import only, or compiled: the module's tests
        ids &= self.ok
        order = sorted(ids, key=lambda i: (self.durations[i], self.names[i]))
        return [self.names[i] for i in order], sum(self.durations[i] for i in order)


# ---------------------------------------------------------------- running tests per mutant


class ForkServer:
    """Imports the third-party modules the tests need once, then forks a child per job, so a
    mutant pays for importing tensornet and its tests but not NumPy, SciPy, pytest, ..."""

    def __init__(self) -> None:
        sys.dont_write_bytecode = True  # a mutant's bytecode must never be cached
        os.environ.update(HYPOTHESIS_PROFILE="ci", PYTHONDONTWRITEBYTECODE="1")
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        os.chdir(ROOT)
        self.patching = False

    def preload(self, names: list[str], own: bool = True) -> None:
        """Import ``names`` here (tensornet and the test modules too when ``own``: a mutant
        inside a function body is then patched into the loaded code, see :func:`patch`)."""
        skip = ("conftest", "__main__", "mutate_tool") + (() if own else ("tensornet", "tests"))
        for name in names:
            if name.split(".")[0] in skip or name in sys.modules:
                continue
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - a module that cannot be preloaded loads later
                pass

    def run(self, job, timeout: float, quiet: bool = True) -> int | str:
        """Run ``job()`` in a forked child; its exit status, or ``"timeout"`` (child killed)."""
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: its own process group, so a kill takes its helpers too
            code = 3
            try:
                os.setpgid(0, 0)
                if quiet:
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, 1)
                    os.dup2(devnull, 2)
                code = job()
                code = 0 if code is None else int(code)
            except BaseException:  # noqa: BLE001 - any failure is a nonzero status
                code = 3
            finally:
                os._exit(code)
        deadline = time.monotonic() + timeout
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
                for target in (-pid, pid):
                    try:
                        os.kill(target, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                os.waitpid(pid, 0)
                return "timeout"
            time.sleep(0.02)

    def pytest(
        self, tests: list[str], timeout: float, patch_with: tuple[str, str] | None = None
    ) -> int | str:
        """pytest on ``tests`` (stopping at the first failure) in a child. With ``patch_with``
        (module name, mutated source) the loaded module's functions take the mutated code;
        without it, or when that fails, tensornet and the tests are imported afresh from disk."""

        def job() -> int:
            import pytest

            if patch_with is None or not patch(*patch_with):
                forget_own_modules()
            return pytest.main(["-x", "-q", "-p", "no:cacheprovider", *tests])

        return self.run(job, timeout)


def forget_own_modules() -> None:
    """Drop tensornet and the tests from ``sys.modules``: the next import reads them from disk."""
    for name in [n for n in sys.modules if n.split(".")[0] in ("tensornet", "tests", "conftest")]:
        del sys.modules[name]


def _unwrap(obj):
    """The plain function behind a decorator (functools.wraps, autograd primitive, numba
    dispatcher, staticmethod/classmethod), or None. A wrapper that is itself a function (an
    autograd primitive) is looked through too: its own code is the decorator's, not ours."""
    for _ in range(8):
        for attr in ("__wrapped__", "__func__", "py_func", "fun"):
            inner = getattr(obj, attr, None)
            if callable(inner):
                obj = inner
                break
        else:
            return obj if isinstance(obj, type(_unwrap)) else None
    return None


def _pairs(old, new, module: str, depth: int = 0):
    """(old function, new function) pairs of a module's namespace or a class's dict."""
    olds, news = (old, new) if isinstance(old, dict) else (vars(old), vars(new))
    for name, new_obj in news.items():
        old_obj = olds.get(name)
        if old_obj is None:
            continue
        if isinstance(new_obj, property):
            for part in ("fget", "fset", "fdel"):
                a, b = getattr(old_obj, part, None), getattr(new_obj, part, None)
                if a is not None and b is not None:
                    yield a, b
        elif isinstance(new_obj, type):
            if depth < 3 and getattr(old_obj, "__module__", None) == module:
                yield from _pairs(old_obj, new_obj, module, depth + 1)
        else:
            a, b = _unwrap(old_obj), _unwrap(new_obj)
            if a is not None and b is not None and b.__module__ == module:
                yield a, b


def patch(module: str, source: str) -> bool:
    """Give every function of the loaded ``module`` the code compiled from ``source``: the
    module is executed into a fresh namespace and each old function takes its new twin's code
    (so every reference to it, ``from module import f`` included, runs the mutant). False when
    a function cannot be patched (the caller then imports afresh)."""
    mod = sys.modules.get(module)
    if mod is None:
        return False
    namespace = {k: mod.__dict__[k] for k in ("__name__", "__package__", "__file__", "__spec__")}
    try:
        exec(compile(source, mod.__file__, "exec"), namespace)
        for a, b in _pairs(mod.__dict__, namespace, module):
            if len(a.__code__.co_freevars) != len(b.__code__.co_freevars):
                return False
            a.__code__ = b.__code__
    except Exception:  # noqa: BLE001 - e.g. a mutant that fails at import
        return False
    return True


def _body_lines(path: Path, jit: bool = False) -> set[int]:
    """The lines inside function bodies: a mutant there changes only code objects. With
    ``jit``, only the bodies of compiled functions (a decorator naming ``jit``), which
    coverage cannot see and a patch cannot reach (their machine code is cached by source)."""
    out: set[int] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if jit and not any("jit" in ast.unparse(d) for d in node.decorator_list):
                continue
            out.update(range(node.body[0].lineno, (node.end_lineno or node.lineno) + 1))
    return out


def run_tests(tests: list[str], timeout: float) -> tuple[bool, float]:
    """Whether the tests pass in a fresh interpreter, and how long they took (a timeout counts
    as a failure)."""
    env = dict(os.environ, HYPOTHESIS_PROFILE="ci", PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, time.perf_counter() - start
    return done.returncode == 0, time.perf_counter() - start


def judge(status: int | str) -> str:
    """A pytest exit status -> the mutant's fate: 0 (all passed) survives; a failure, an
    error, a crash or a timeout kills; 5 (no test collected) should not happen."""
    if status == 0:
        return "survived"
    if status == 5:
        return "no-tests"
    return "killed"


def mutate_module(
    module: Path,
    tests: list[str] | None,
    limit: int | None,
    seed: int,
    server: ForkServer,
    cmap: dict | None,
) -> dict:
    """Run every mutant (or ``limit`` drawn with ``seed``) of one module; returns its record."""
    mirror = tests or tests_for(module)
    select = Selector(None if tests else cmap, module, mirror)
    path = ROOT / module
    original = path.read_text()
    todo = mutants(path)
    for m in todo:
        m.id = m.id.replace(path.as_posix(), module.as_posix())
    todo = [m for m in todo if _compiles(apply(original, m))]
    if limit is not None and len(todo) > limit:
        todo = sorted(random.Random(seed).sample(todo, limit), key=lambda m: (m.line, m.col))
    base = 0.0
    if select.cmap is None:  # no map: the mirror tests must pass first, and their time sets
        start = time.perf_counter()  # the timeout
        if server.pytest(mirror, timeout=3600) != 0:
            raise SystemExit(f"the tests of {module} fail before any mutation: {mirror}")
        base = time.perf_counter() - start
    name = ".".join(module.with_suffix("").parts)
    body = _body_lines(path) - _body_lines(path, jit=True) if server.patching else set()
    start = time.perf_counter()
    try:
        for k, m in enumerate(todo, 1):
            ids, seconds = select(m.line)
            took = 0.0
            if not ids:
                m.status = "uncovered"
            else:
                text = apply(original, m)
                path.write_text(text)
                timeout = 30.0 + 3 * max(seconds, base)
                patch_with = (name, text) if m.line in body else None
                t0 = time.perf_counter()
                m.status = judge(server.pytest(ids, timeout=timeout, patch_with=patch_with))
                took = time.perf_counter() - t0
                path.write_text(original)
            print(
                f"[{k}/{len(todo)}] {m.status:9s} {m.id}  ({len(ids)} tests, {took:.1f} s)"
                f" | {m.source_line}",
                flush=True,
            )
    finally:
        path.write_text(original)
    return record(module, todo, mirror if select.cmap is None else "coverage map", start)


def record(module: Path, todo: list[Mutant], tests, start: float) -> dict:
    """The results of one module: score, survivors (with their equivalence reasons)."""
    killed = sum(m.status == "killed" for m in todo)
    equivalent = _equivalent()
    survivors = [
        {**asdict(m), "equivalent": equivalent.get(m.id)} for m in todo if m.status != "killed"
    ]
    judged = sum(1 for s in survivors if s["equivalent"])
    return {
        "module": module.as_posix(),
        "tests": tests,
        "mutants": len(todo),
        "killed": killed,
        "uncovered": sum(m.status == "uncovered" for m in todo),
        "equivalent": judged,
        "score": killed / len(todo) if todo else 1.0,
        "score_non_equivalent": killed / (len(todo) - judged) if len(todo) > judged else 1.0,
        "survivors": survivors,
        "seconds": time.perf_counter() - start,
    }


def _equivalent() -> dict[str, str]:
    """Mutant id -> reason, from ``tools/mutation_equivalent.json`` and any
    ``tools/mutation_equivalent_<part>.json`` beside it (one file per person or package)."""
    out: dict[str, str] = {}
    for path in sorted(EQUIVALENT.parent.glob("mutation_equivalent*.json")):
        out.update(json.loads(path.read_text()))
    return out


def _modules(targets: list[str]) -> list[Path]:
    out = []
    for t in targets:
        p = Path(t)
        if (ROOT / p).is_dir():
            out += sorted(
                q.relative_to(ROOT) for q in (ROOT / p).glob("*.py") if not q.name.startswith("__")
            )
        else:
            out.append(p)
    return out


def survivors_text(rec: dict) -> str:
    """The survivors of one module, one a line: status, id, source line, equivalence reason."""
    head = (
        f"# {rec['module']}: {rec['killed']}/{rec['mutants']} killed "
        f"({100 * rec['score']:.1f}%, {100 * rec['score_non_equivalent']:.1f}% of the "
        f"non-equivalent), {len(rec['survivors'])} survivors, {rec['uncovered']} uncovered\n"
    )
    rows = [
        f"{s['status']:9s} {s['id']}  | {s['source_line']}"
        + (f"  # equivalent: {s['equivalent']}" if s["equivalent"] else "")
        for s in rec["survivors"]
    ]
    return head + "".join(r + "\n" for r in rows)


def rejudge(rec: dict, equivalent: dict[str, str]) -> dict:
    """A module's record with the equivalence reasons (and the scores) read afresh."""
    for s in rec["survivors"]:
        s["equivalent"] = equivalent.get(s["id"])
    judged = sum(1 for s in rec["survivors"] if s["equivalent"])
    rec["equivalent"] = judged
    left = rec["mutants"] - judged
    rec["score_non_equivalent"] = rec["killed"] / left if left else 1.0
    return rec


def _save(results: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("targets", nargs="*", help="modules or package folders")
    ap.add_argument("--all", action="store_true", help="the modules of the issue's target")
    ap.add_argument("--tests", nargs="+", default=None, help="run these tests for every mutant")
    ap.add_argument(
        "--scope", nargs="+", default=None, help="tests to map (default: mirror folders)"
    )
    ap.add_argument("--fresh", action="store_true", help="import tensornet afresh per mutant")
    ap.add_argument("--no-map", action="store_true", help="no coverage map: mirror tests only")
    ap.add_argument("--map", type=Path, default=ROOT / ".mutation" / "coverage_map.json")
    ap.add_argument("--max", type=int, default=None, help="at most this many mutants per module")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--survivors-dir", type=Path, default=None, help="append survivors here")
    ap.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    ap.add_argument(
        "--rejudge", action="store_true", help="re-read the equivalents into --out, run nothing"
    )
    args = ap.parse_args()
    if args.rejudge:
        results = json.loads(args.out.read_text())
        for rec in results["modules"].values():
            rejudge(rec, _equivalent())
            print(survivors_text(rec).splitlines()[0].lstrip("# "))
        _save(results, args.out)
        return
    modules = _modules(ALL_TARGETS if args.all else args.targets)
    if not modules:
        ap.error("give modules, folders or --all")
    if args.list:
        for module in modules:
            for m in mutants(ROOT / module):
                print(f"{module}:{m.line}:{m.col} {m.original!r} -> {m.mutated!r}")
        return
    # a kill of the tool (SIGTERM) unwinds like Ctrl-C, so the module on disk is restored
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    server = ForkServer()
    cmap = None
    have_coverage = importlib.util.find_spec("coverage") is not None
    scope = args.scope or default_scope(ALL_TARGETS if args.all else args.targets)
    if not args.tests and not args.no_map and have_coverage:
        cmap = coverage_map(modules, scope, args.map, server)
        server.preload(cmap["imported"], own=not args.fresh)
        server.patching = not args.fresh
    else:
        if not have_coverage and not args.tests:
            print("coverage.py is not installed: every mutant runs its mirror tests", flush=True)
        server.preload(["numpy", "scipy.linalg", "autograd", "hypothesis", "pytest", "numba"])
    command = " ".join(["python", "tools/mutate.py", *sys.argv[1:]])
    for module in modules:
        rec = mutate_module(module, args.tests, args.max, args.seed, server, cmap)
        rec["command"] = command
        results = json.loads(args.out.read_text()) if args.out.exists() else {"modules": {}}
        old = results["modules"].get(module.as_posix(), {})
        if "before" in old:
            rec["before"] = old["before"]
        elif args.max is None:
            rec["before"] = {k: rec[k] for k in ("mutants", "killed", "uncovered", "score")}
        results["modules"][module.as_posix()] = rec
        _save(results, args.out)
        text = survivors_text(rec)
        print(text.splitlines()[0].lstrip("# "), flush=True)
        if args.survivors_dir is not None:
            args.survivors_dir.mkdir(parents=True, exist_ok=True)
            name = module.as_posix().replace("/", "_").removesuffix(".py") + ".txt"
            with open(args.survivors_dir / name, "a") as f:
                f.write(text)


if __name__ == "__main__":
    main()
