"""Mutation testing for tensornet: do the tests notice when the code is wrong?

Every mutant changes one token of a module (an arithmetic or comparison operator, a boolean
operator or constant, an integer constant, a ``.T`` transpose dropped, a ``not`` dropped), the
tests that execute the mutated line run against it, and the mutant is *killed* when one fails
(or times out). The score of a module is killed / all; survivors are printed with their line so
a person can judge each one: a missing test, or an equivalent mutant (no behaviour can tell it
apart), whose reason goes into ``tools/mutation_equivalent.json``.

What keeps it fast enough for a whole package:

* **per-line test selection.** One run of the tests in scope under coverage.py, with one
  coverage context per test, maps every line of the target modules to the tests that execute
  it (kept per module in ``.mutation/coverage_map.json`` until the module changes); a mutant
  runs only those, the tests that killed a mutant on a nearby line first and the others
  fastest first, stopping at the first failure. A mutant on a line no test executes is
  *uncovered*, a survivor, without running anything. Test files written after the map that
  name the module (``tests/<package>/test_..._<stem>.py``) run for all its mutants. coverage.py
  is an optional dependency of the tool: without it, every mutant runs its mirror test file.
* **a fork server.** The tool imports once every module the tests need and forks a child per
  mutant that patches the mutated functions into the loaded code (or imports tensornet afresh,
  mutated, from disk) and runs ``pytest.main`` on the selected tests. A child that outlives its
  timeout is killed, and the mutant counts as killed (a hang).
* **a cache of outcomes.** Every mutant's outcome (status, killing test, CPU seconds) is
  appended to ``.mutation/outcomes.jsonl``, keyed by the mutant, a hash of its module and a
  hash of the test files that ran it: a run can be stopped at any point and continued, and a
  later run only runs mutants whose module or tests changed (a kill stays valid while the
  killing test's file is unchanged).

Each module's mutants are taken in one fixed random order (``--seed``): ``--max N`` runs its
first N, so a stratified sample (the same N for every module) grows into the full run as N
does. ``--report`` builds the results from the cache alone: a module's sample is the longest
prefix of its order with valid outcomes, its score comes with a 95% (Wilson) interval.

Run from the repository root (it edits the module in place and always restores it, even after a
SIGKILL, on the next start)::

    python tools/mutate.py tensornet/algebra/truncation.py
    python tools/mutate.py tensornet/decompositions tensornet/formats --max 20   # a sample
    python tools/mutate.py --all   # decompositions/, formats/, algebra/, nn/layers.py, nn/optim.py
    python tools/mutate.py --report tensornet/formats                # from the cache

It does not run in CI; ``--out`` (default ``benchmarks/results/mutation.json``) keeps the
results, merged per module, with the first recorded outcome of each mutant as its ``before``.
"""

from __future__ import annotations

import argparse
import ast
import gc
import hashlib
import importlib
import importlib.util
import io
import json
import os
import resource
import runpy
import signal
import sys
import time
import tokenize
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "mutation.json"
EQUIVALENT = ROOT / "tools" / "mutation_equivalent.json"
CACHE = ROOT / ".mutation"
#: examples per ``@given`` test under ``--profile mutation``
MUTATION_EXAMPLES = 10
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
            if tok.string in ("*", "**") and _unary(tokens, i):
                continue  # a star of unpacking or of a signature, not a product
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
    skip = (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)
    j = i - 1
    while j > 0 and tokens[j].type in skip:  # a signature or call spread over lines
        j -= 1
    prev = tokens[j]
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


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _upgrade(cached: dict) -> dict:
    """A map written by an older version of the tool (one ``key`` over the whole scope) in the
    per-module form, when the sources it was built from are unchanged; else an empty map."""
    if "modules" in cached:
        return cached
    mods = [Path(m) for m in cached.get("lines", {})]
    if cached.get("key") != _digest(cached.get("scope", []), mods):
        return {}
    cached["modules"] = {
        m.as_posix(): {"hash": _sha(ROOT / m), "lines": cached["lines"][m.as_posix()]} for m in mods
    }
    del cached["lines"]
    return cached


def merge_maps(old: dict, new: dict) -> dict:
    """``old`` with the modules of ``new`` (re-mapped or added): one test list, the modules'
    line maps re-indexed into it, a test's duration and failure taken from the newer run."""
    if not old:
        return new
    names = list(old["tests"])
    durations = list(old["durations"])
    index = {t: i for i, t in enumerate(names)}
    for t, d in zip(new["tests"], new["durations"], strict=True):
        if t in index:
            durations[index[t]] = d
        else:
            index[t] = len(names)
            names.append(t)
            durations.append(d)
    ran = set(new["tests"])
    failed = sorted({t for t in old["failed"] if t not in ran} | set(new["failed"]))
    modules = dict(old["modules"])
    for m, entry in new["modules"].items():
        lines = {ln: [index[new["tests"][i]] for i in ids] for ln, ids in entry["lines"].items()}
        modules[m] = {"hash": entry["hash"], "lines": lines}
    imported = sorted(set(old.get("imported", [])) | set(new.get("imported", [])))
    return {
        **old,
        "tests": names,
        "durations": durations,
        "failed": failed,
        "modules": modules,
        "imported": imported,
    }


def coverage_map(modules: list[Path], scope: list[str], cache: Path, server: ForkServer) -> dict:
    """The line -> tests map of ``modules``, kept in ``cache`` per module: a module is mapped
    (over the tests in ``scope``, in a child of the fork server) only when it is not in the
    cache or its source changed. Tests added later are not in the map: :class:`Selector` adds
    the new test files that name a module to its mutants (``--remap`` maps afresh)."""
    cached = _upgrade(json.loads(cache.read_text())) if cache.exists() else {}
    stale = [
        m
        for m in modules
        if cached.get("modules", {}).get(m.as_posix(), {}).get("hash") != _sha(ROOT / m)
    ]
    if not stale:
        return cached
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".part")
    print(f"mapping which tests execute which line: {' '.join(scope)}", flush=True)
    start = time.perf_counter()
    status = server.run(lambda: _map_child(stale, scope, tmp), timeout=4 * 3600, quiet=False)
    if status != 0 or not tmp.exists():
        raise SystemExit(f"the coverage run over {scope} failed (status {status})")
    payload = json.loads(tmp.read_text())
    tmp.unlink()
    payload["modules"] = {
        m.as_posix(): {"hash": _sha(ROOT / m), "lines": payload["lines"][m.as_posix()]}
        for m in stale
    }
    del payload["lines"]
    payload["scope"] = scope
    payload["seconds"] = time.perf_counter() - start
    print(f"mapped {len(payload['tests'])} tests in {payload['seconds']:.0f} s", flush=True)
    merged = merge_maps(cached, payload)
    tmp.write_text(json.dumps(merged))
    tmp.replace(cache)
    return merged


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
    """The tests to run for a mutant on a given line of a module: the tests that killed a
    mutant on a nearby line first (nearest first), then the others fastest first, then the test
    files written after the map (last, so a kill by one of them shows that no older test kills
    the mutant: the "before" counts it as a survivor)."""

    def __init__(self, cmap: dict | None, module: Path, mirror: list[str]):
        self.module = module
        self.mirror = mirror
        self.cmap = cmap
        self.killers: dict[str, list[int]] = {}  # test -> lines of the mutants it killed
        if cmap is None:
            return
        failed = set(cmap["failed"])
        self.names = cmap["tests"]
        self.durations = cmap["durations"]
        self.ok = {i for i, t in enumerate(self.names) if t not in failed}
        entry = cmap["modules"].get(module.as_posix(), {"lines": {}})
        self.lines = {int(k): v for k, v in entry["lines"].items()}
        self.signature = _signature_lines(ROOT / module)
        self.jit = _body_lines(ROOT / module, jit=True)
        everything = set().union(*self.lines.values()) if self.lines else set()
        own = set(mirror) | set(own_test_files(module))
        in_mirror = {i for i in everything if self.names[i].split("::")[0] in own}
        self.module_level = in_mirror or everything
        # files not in THIS module's map (it may be older than a file mapped for another module)
        self.extras = new_test_files(module, {self.names[i].split("::")[0] for i in everything})

    def killed(self, test: str, line: int) -> None:
        """Remember that ``test`` killed a mutant on ``line`` (it goes first for its neighbours)."""
        self.killers.setdefault(test, []).append(line)

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
        names, seconds = self.order(ids, line)
        if line in self.signature and ids:  # a test may read the defaults without a call
            whole = own_test_files(self.module)
            names = [n for n in names if n.split("::")[0] not in whole] + whole
        return names, seconds

    def order(self, ids: set[int], line: int) -> tuple[list[str], float]:
        def key(i: int) -> tuple[float, float, str]:
            near = min((abs(line - k) for k in self.killers.get(self.names[i], ())), default=None)
            return (
                near if near is not None and near <= NEAR else NEAR + 1,
                self.durations[i],
                self.names[i],
            )

        order = sorted(ids, key=key)
        names = [self.names[i] for i in order]
        return [*names, *self.extras], sum(self.durations[i] for i in order)


#: a mutant's child is stopped after its CPU limit or this many times that in wall time
WALL_BACKSTOP = 20.0

#: a test that killed a mutant at most this many lines away runs first
NEAR = 30


def own_test_files(module: Path) -> list[str]:
    """The test files of ``module`` by name: in its mirror folder ``tests/<package>/``, named
    ``test_<stem>.py`` or ``test_..._<stem>.py`` (e.g. ``test_mutants_<stem>.py``)."""
    rel = module.relative_to("tensornet")
    folder = ROOT / "tests" / rel.parent
    files = sorted(folder.glob("test_*.py")) if folder.is_dir() else []
    return [
        f.relative_to(ROOT).as_posix()
        for f in files
        if f.stem == f"test_{rel.stem}" or f.stem.endswith(f"_{rel.stem}")
    ]


def new_test_files(module: Path, mapped: set[str]) -> list[str]:
    """The own test files of ``module`` (:func:`own_test_files`) that are not in ``mapped``,
    the test files of its coverage map: written after it, they run for every mutant."""
    return [name for name in own_test_files(module) if name not in mapped]


# ---------------------------------------------------------------- running tests per mutant

THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


class ForkServer:
    """Imports the third-party modules the tests need once, then forks a child per job, so a
    mutant pays for importing tensornet and its tests but not NumPy, SciPy, pytest, ..."""

    def __init__(self) -> None:
        sys.dont_write_bytecode = True  # a mutant's bytecode must never be cached
        os.environ.update(HYPOTHESIS_PROFILE="ci", PYTHONDONTWRITEBYTECODE="1")
        # one thread everywhere: a forked child must not inherit a started OpenMP pool (GNU
        # OpenMP is not fork safe) or BLAS threads, and one-thread tests are the cheapest per mutant
        for var in THREAD_VARIABLES:
            os.environ[var] = "1"
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        os.chdir(ROOT)
        self.patching = False
        self.cpu = 0.0

    def profile(self, name: str) -> None:
        """Run the tests under the Hypothesis profile ``name``; ``mutation`` is registered here:
        the ``ci`` profile with fewer examples per ``@given`` test."""
        os.environ["HYPOTHESIS_PROFILE"] = name
        if name == "mutation":
            from hypothesis import HealthCheck, settings

            settings.register_profile(
                "mutation",
                derandomize=True,
                max_examples=MUTATION_EXAMPLES,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )

    def preload(self, names: list[str], own: bool = True) -> None:
        """Import ``names`` here (tensornet and the test modules too when ``own``: a mutant
        inside a function body is then patched into the loaded code, see :func:`patch`)."""
        skip = ("conftest", "__main__", "mutate_tool") + (() if own else ("tensornet", "tests"))
        if own:
            # a test module's @settings take their unset values from the profile loaded when it
            # is imported: load the suite's profile first, or preloaded tests keep Hypothesis's
            # defaults (a 200 ms deadline: false kills when a mutant triggers a compile)
            runpy.run_path(str(ROOT / "tests" / "conftest.py"))
        for name in names:
            if name.split(".")[0] in skip or name in sys.modules:
                continue
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - a module that cannot be preloaded loads later
                pass

    def run(
        self, job, timeout: float, quiet: bool = True, cpu_limit: float | None = None
    ) -> int | str:
        """Run ``job()`` in a forked child; its exit status, or ``"timeout"`` when it outlives
        ``timeout`` seconds of wall time or ``cpu_limit`` seconds of CPU time (killed). On a
        shared machine a niced child can wait for a core far longer than it computes, so
        mutants are limited by CPU time, with a wall-time backstop for a child that sleeps."""
        sys.stdout.flush()
        sys.stderr.flush()
        # the loaded modules' objects move out of the collector's reach: a child's full
        # collections (pytest runs several) then neither scan them nor copy their pages
        gc.collect()
        gc.freeze()
        pid = os.fork()
        if pid == 0:  # the child: its own process group, so a kill takes its helpers too
            code = 3
            try:
                os.setpgid(0, 0)
                if cpu_limit is not None:  # a hang burns CPU: the kernel stops it (SIGXCPU)
                    limit = int(cpu_limit) + 1
                    resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 5))
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
        try:
            while True:
                done, status, usage = os.wait4(pid, os.WNOHANG)
                if done:
                    pid = 0
                    self.cpu = usage.ru_utime + usage.ru_stime
                    code = os.waitstatus_to_exitcode(status)
                    return "timeout" if code == -signal.SIGXCPU else code
                if time.monotonic() > deadline:
                    _kill_group(pid)
                    _, _, usage = os.wait4(pid, 0)
                    pid = 0
                    self.cpu = usage.ru_utime + usage.ru_stime
                    return "timeout"
                time.sleep(0.02)
        finally:
            if pid:  # the tool itself was stopped: its child goes too
                _kill_group(pid)
                os.waitpid(pid, 0)

    def pytest(
        self,
        tests: list[str],
        timeout: float,
        patch_with: tuple[str, str] | None = None,
        killer: Path | None = None,
    ) -> int | str:
        """pytest on ``tests`` (stopping at the first failure) in a child. With ``patch_with``
        (module name, mutated source) the loaded module's functions take the mutated code;
        without it, or when that fails, tensornet and the tests are imported afresh from disk.
        With ``killer``, the node id of the first failing test is written there."""

        class FirstFailure:
            def pytest_runtest_logreport(self, report):
                if report.failed and killer is not None and not killer.exists():
                    killer.write_text(report.nodeid)

        def job() -> int:
            import pytest

            if patch_with is None or not patch(*patch_with):
                forget_own_modules()
            args = ["-x", "-q", "-p", "no:cacheprovider", *tests]
            return pytest.main(args, plugins=[FirstFailure()])

        return self.run(job, WALL_BACKSTOP * timeout, cpu_limit=timeout)


def _kill_group(pid: int) -> None:
    for target in (-pid, pid):
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass


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


def _nested_lines(path: Path) -> set[int]:
    """The lines of functions defined inside functions: a closure made at import (the wrapper
    a decorator returns) keeps its code object, which :func:`patch` cannot reach, so a mutant
    there is imported afresh."""
    out: set[int] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if inner is not node and isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
                    first = min([inner.lineno, *(d.lineno for d in inner.decorator_list)])
                    out.update(range(first, (inner.end_lineno or inner.lineno) + 1))
    return out


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


def judge(status: int | str) -> str:
    """A pytest exit status -> the mutant's fate: 0 (all passed) survives; a failure, an
    error, a crash or a timeout kills; 5 (no test collected) should not happen."""
    if status == 0:
        return "survived"
    if status == 5:
        return "no-tests"
    return "killed"


#: Outcomes of another version of the tool are ignored (kept in the file). 2: the suite's
#: Hypothesis profile holds in the preloaded test modules (version 1 ran them with Hypothesis's
#: defaults, whose 200 ms deadline made slow examples count as kills).
TOOL_VERSION = 2


class Outcomes:
    """Every mutant's outcome, appended one JSON line at a time to ``path`` (a run stopped at any
    point loses at most the mutant it was running). An outcome stays valid while its module's
    source is unchanged and, for a kill, the killing test's file; for any other outcome, while
    the files of the tests that ran it (the ``tests_hash``)."""

    def __init__(self, path: Path):
        self.path = path
        self.entries: dict[str, list[dict]] = {}
        if path.exists():
            for row in path.read_text().splitlines():
                try:
                    entry = json.loads(row)
                except json.JSONDecodeError:  # a line cut short by a kill
                    continue
                if entry.get("tool", 1) == TOOL_VERSION:
                    self.entries.setdefault(entry["id"], []).append(entry)

    def add(self, entry: dict) -> None:
        entry = {**entry, "tool": TOOL_VERSION}
        self.entries.setdefault(entry["id"], []).append(entry)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def valid(self, mid: str, module_hash: str, tests_hash: str | None) -> dict | None:
        """The latest outcome of mutant ``mid`` that still holds (``tests_hash`` None: any)."""
        for entry in reversed(self.entries.get(mid, [])):
            if entry["module_hash"] != module_hash:
                continue
            if entry.get("timeout") and entry.get("limit") != "cpu":
                continue  # a wall-time timeout of a starved child tells nothing
            if entry["status"] == "killed" and entry.get("killer"):
                if _file_hash([entry["killer"].split("::")[0]]) == entry["killer_hash"]:
                    return entry
            elif tests_hash is None or entry["tests_hash"] == tests_hash:
                return entry
        return None

    def first(self, mid: str, module_hash: str) -> dict | None:
        """The first outcome recorded for mutant ``mid`` of this source (the "before")."""
        for entry in self.entries.get(mid, []):
            if entry.get("timeout") and entry.get("limit") != "cpu":
                continue
            if entry["module_hash"] == module_hash:
                return entry
        return None


_FILE_HASHES: dict[str, str] = {}


def _file_hash(files: list[str]) -> str:
    """One hash of the test files ``files`` (their contents, by name)."""
    h = hashlib.sha256()
    for f in sorted(set(files)):
        if f not in _FILE_HASHES:
            p = ROOT / f
            _FILE_HASHES[f] = _sha(p) if p.is_file() else "missing"
        h.update(f"{f}:{_FILE_HASHES[f]}\n".encode())
    return h.hexdigest()[:16]


def sample_order(module: Path, todo: list[Mutant], seed: int) -> list[Mutant]:
    """The mutants of ``module`` in one fixed random order (by ``seed`` and the module's path):
    ``--max N`` takes its first N, so a later larger N extends the same sample."""

    def key(m: Mutant) -> str:  # each mutant's own random key: a mutant added or left out
        return hashlib.sha256(f"{seed}:{m.id}".encode()).hexdigest()  # moves no other

    return sorted(todo, key=key)


def module_mutants(module: Path) -> tuple[str, list[Mutant]]:
    """The source of ``module`` and its mutants that compile, ids relative to the root."""
    path = ROOT / module
    original = path.read_text()
    todo = mutants(path)
    for m in todo:
        m.id = m.id.replace(path.as_posix(), module.as_posix())
    return original, [m for m in todo if _compiles(apply(original, m))]


class Restorer:
    """Keeps the original of the module being mutated in ``.mutation/original`` while a mutant is
    on disk, so a run killed without unwinding (SIGKILL) is repaired by the next start."""

    def __init__(self, folder: Path):
        self.marker = folder / "mutated.json"
        self.copy = folder / "original"

    def repair(self) -> None:
        if self.marker.exists():
            target = ROOT / json.loads(self.marker.read_text())["module"]
            target.write_bytes(self.copy.read_bytes())
            print(f"restored {target.relative_to(ROOT)} left mutated by a killed run", flush=True)
            self.marker.unlink()

    def write(self, module: Path, original: str, text: str) -> None:
        self.copy.parent.mkdir(parents=True, exist_ok=True)
        self.copy.write_text(original)
        self.marker.write_text(json.dumps({"module": module.as_posix()}))
        (ROOT / module).write_text(text)

    def restore(self, module: Path, original: str) -> None:
        (ROOT / module).write_text(original)
        if self.marker.exists():
            self.marker.unlink()


def mutate_module(
    module: Path,
    tests: list[str] | None,
    limit: int | None,
    seed: int,
    server: ForkServer,
    cmap: dict | None,
    outcomes: Outcomes,
    restorer: Restorer,
    rerun: bool = False,
    only: set[str] | None = None,
    start: int = 0,
) -> None:
    """Run the first ``limit`` mutants (all when None) of ``module`` in its fixed random order,
    leaving out the first ``start`` (a held-out window), each unless a valid outcome is cached
    (``rerun``: all), appending each outcome."""
    mirror = tests or tests_for(module)
    select = Selector(None if tests else cmap, module, mirror)
    original, todo = module_mutants(module)
    module_hash = hashlib.sha256(original.encode()).hexdigest()[:16]
    todo = sample_order(module, todo, seed)[start:limit]
    if only is not None:
        todo = [m for m in todo if m.id in only]
    for m in todo:  # cached kills order the tests of their neighbours
        old = outcomes.valid(m.id, module_hash, None)
        if old and old.get("killer"):
            select.killed(old["killer"], m.line)
    base = 0.0
    if select.cmap is None:  # no map: the mirror tests must pass first, and their time sets
        start = time.perf_counter()  # the timeout
        if server.pytest(mirror, timeout=3600) != 0:
            raise SystemExit(f"the tests of {module} fail before any mutation: {mirror}")
        base = time.perf_counter() - start
    name = ".".join(module.with_suffix("").parts)
    body = _body_lines(ROOT / module) - _body_lines(ROOT / module, jit=True)
    body -= _nested_lines(ROOT / module)
    body = body if server.patching else set()
    killer = ROOT / ".mutation" / "killer.txt"
    try:
        for k, m in enumerate(todo, 1):
            ids, seconds = select(m.line)
            tests_hash = _file_hash([t.split("::")[0] for t in ids])
            cached = None if rerun else outcomes.valid(m.id, module_hash, tests_hash)
            if cached is not None:
                continue
            entry = {
                "id": m.id,
                "module": module.as_posix(),
                "module_hash": module_hash,
                "tests_hash": tests_hash,
                "tests": len(ids),
                "killer": None,
                "cpu": 0.0,
                "wall": 0.0,
            }
            if not ids:
                entry["status"] = "uncovered"
            else:
                text = apply(original, m)
                restorer.write(module, original, text)
                timeout = 30.0 + 3 * max(seconds, base)
                patch_with = (name, text) if m.line in body else None
                killer.unlink(missing_ok=True)
                t0 = time.perf_counter()
                status = server.pytest(ids, timeout=timeout, patch_with=patch_with, killer=killer)
                entry["wall"] = round(time.perf_counter() - t0, 3)
                entry["cpu"] = round(server.cpu, 3)
                restorer.restore(module, original)
                entry["status"] = judge(status)
                entry["timeout"] = status == "timeout"
                entry["limit"] = "cpu"
                if killer.exists():
                    entry["killer"] = killer.read_text()
                    entry["killer_hash"] = _file_hash([entry["killer"].split("::")[0]])
                    select.killed(entry["killer"], m.line)
            entry["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            outcomes.add(entry)
            print(
                f"[{k}/{len(todo)}] {entry['status']:9s} {m.id}  ({len(ids)} tests, "
                f"{entry['cpu']:.1f} s CPU) | {m.source_line}",
                flush=True,
            )
    finally:
        restorer.restore(module, original)


def wilson(k: int, n: int, z: float = 1.96) -> list[float]:
    """The Wilson 95% interval of a proportion k / n."""
    if n == 0:
        return [0.0, 1.0]
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def _cached(
    module: Path, seed: int, cmap: dict | None, outcomes: Outcomes, tests, window, prefix: bool
) -> tuple[int, str, list[tuple[Mutant, dict]], int]:
    """The mutants ``window`` (start, stop) of ``module``'s fixed random order with a valid
    cached outcome: (all mutants of the module, its source hash, the (mutant, outcome) rows, how
    many have none). ``prefix``: stop at the first mutant without one."""
    original, todo = module_mutants(module)
    module_hash = hashlib.sha256(original.encode()).hexdigest()[:16]
    select = Selector(None if tests else cmap, module, tests or tests_for(module))
    rows: list[tuple[Mutant, dict]] = []
    window_mutants = sample_order(module, todo, seed)[window[0] : window[1]]
    for m in window_mutants:
        ids, _ = select(m.line)
        entry = outcomes.valid(m.id, module_hash, _file_hash([t.split("::")[0] for t in ids]))
        if entry is None and prefix:
            break
        if entry is not None:
            rows.append((m, entry))
    return len(todo), module_hash, rows, len(window_mutants) - len(rows)


def _survivors(rows: list[tuple[Mutant, str]], equivalent: dict[str, str]) -> list[dict]:
    """The rows that are not kills, in source order, with their equivalence reasons."""
    return [
        {**asdict(m), "status": s, "equivalent": equivalent.get(m.id)}
        for m, s in sorted(rows, key=lambda p: (p[0].line, p[0].col))
        if s != "killed"
    ]


def _first_statuses(rows, outcomes: Outcomes, module_hash: str, cmap: dict | None) -> list:
    """(mutant, status of its first recorded outcome) for each (mutant, outcome) row."""
    mapped = {t.split("::")[0] for t in cmap["tests"]} if cmap else None
    return [(m, first_status(outcomes.first(m.id, module_hash) or e, mapped)) for m, e in rows]


def report(module: Path, seed: int, cmap: dict | None, outcomes: Outcomes, tests=None) -> dict:
    """The record of ``module`` built from the cached outcomes alone: its sample is the longest
    prefix of its fixed random order whose outcomes are all cached and valid (all its mutants
    when complete); ``before`` counts each sampled mutant's first recorded outcome."""
    total, module_hash, sample, _ = _cached(
        module, seed, cmap, outcomes, tests, (0, None), prefix=True
    )
    equivalent = _equivalent()
    statuses = [(m, e["status"]) for m, e in sample]
    rec = summary(statuses, equivalent)
    before = _first_statuses(sample, outcomes, module_hash, cmap)
    cpu = [e["cpu"] for _, e in sample if e["status"] != "uncovered"]
    rec.update(
        module=module.as_posix(),
        total=total,
        sampled=len(sample) < total,
        seed=seed,
        timeouts=sum(bool(e.get("timeout")) for _, e in sample),
        cpu_seconds=round(sum(cpu), 1),
        cpu_per_run_mutant=round(sum(cpu) / len(cpu), 2) if cpu else None,
        before={k: v for k, v in summary(before, equivalent).items() if k != "survivors"},
        survivors=_survivors(statuses, equivalent),
    )
    return rec


def held_out(
    module: Path, seed: int, window: tuple[int, int | None], cmap: dict | None, outcomes: Outcomes
) -> dict:
    """The record of the mutants ``window`` (start, stop) of ``module``'s fixed random order: a
    held-out sample, run after the mutants before it were turned into tests. ``before`` counts
    each one's first recorded outcome (the suite as it was when the window was first run);
    mutants without a valid outcome are counted as ``missing``."""
    _, module_hash, rows, missing = _cached(module, seed, cmap, outcomes, None, window, False)
    equivalent = _equivalent()
    statuses = [(m, e["status"]) for m, e in rows]
    first = _first_statuses(rows, outcomes, module_hash, cmap)
    rec = summary(statuses, equivalent)
    rec.update(
        module=module.as_posix(),
        window=[window[0], window[1]],
        sampled=True,
        missing=missing,
        before={k: v for k, v in summary(first, equivalent).items() if k != "survivors"},
        survivors=_survivors(statuses, equivalent),
        survivors_before=_survivors(first, equivalent),
    )
    return rec


def first_status(entry: dict, mapped: set[str] | None) -> str:
    """The status of a mutant's first outcome with the tests of the coverage map alone: a kill by
    a test file written after the map (which runs last) means that every mapped test passed."""
    killer = entry.get("killer")
    if entry["status"] == "killed" and killer and mapped is not None:
        if killer.split("::")[0] not in mapped:
            return "survived"
    return entry["status"]


def summary(rows: list[tuple[Mutant, str]], equivalent: dict[str, str]) -> dict:
    """Counts and scores of (mutant, status) rows: the score over the non-equivalent mutants
    with its Wilson 95% interval (the sampling error when the rows are a random sample)."""
    killed = sum(s == "killed" for _, s in rows)
    judged = sum(1 for m, s in rows if s != "killed" and m.id in equivalent)
    left = len(rows) - judged
    return {
        "mutants": len(rows),
        "killed": killed,
        "uncovered": sum(s == "uncovered" for _, s in rows),
        "equivalent": judged,
        "score": round(killed / len(rows), 4) if rows else None,
        "score_non_equivalent": round(killed / left, 4) if left else None,
        "interval95": wilson(killed, left),
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

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}%"

    if "window" in rec:
        sample = f" (held-out mutants {rec['window'][0] + 1}-{rec['window'][1]})"
    else:
        sample = f" (a sample of {rec['mutants']}/{rec['total']})" if rec.get("sampled") else ""
    interval = rec.get("interval95")
    ci = f", 95% interval {pct(interval[0])}-{pct(interval[1])}" if rec.get("sampled") else ""
    head = (
        f"# {rec['module']}{sample}: {rec['killed']}/{rec['mutants']} killed "
        f"({pct(rec['score'])}, {pct(rec['score_non_equivalent'])} of the "
        f"non-equivalent{ci}), {len(rec['survivors'])} survivors, {rec['uncovered']} uncovered\n"
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
    if "interval95" in rec:
        rec["interval95"] = wilson(rec["killed"], left)
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
    ap.add_argument("--map", type=Path, default=CACHE / "coverage_map.json")
    ap.add_argument("--remap", action="store_true", help="map the targets afresh")
    ap.add_argument("--cache", type=Path, default=CACHE / "outcomes.jsonl")
    ap.add_argument("--rerun", action="store_true", help="run mutants even with a cached outcome")
    ap.add_argument("--only", nargs="+", default=None, help="run only these mutant ids")
    ap.add_argument("--max", type=int, default=None, help="the first N of each module's order")
    ap.add_argument(
        "--start", type=int, default=0, help="leave out the first N of each order (held out)"
    )
    ap.add_argument("--seed", type=int, default=0, help="the seed of each module's order")
    ap.add_argument("--profile", default="ci", help="Hypothesis profile (mutation: fewer examples)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--survivors-dir", type=Path, default=None, help="write survivors here")
    ap.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    ap.add_argument(
        "--report", action="store_true", help="build --out from the cached outcomes, run nothing"
    )
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
    if args.report and not modules:
        modules = sorted({Path(e[-1]["module"]) for e in Outcomes(args.cache).entries.values()})
    if not modules:
        ap.error("give modules, folders or --all")
    if args.list:
        for module in modules:
            for m in mutants(ROOT / module):
                print(f"{module}:{m.line}:{m.col} {m.original!r} -> {m.mutated!r}")
        return
    outcomes = Outcomes(args.cache)
    restorer = Restorer(CACHE)
    restorer.repair()
    have_coverage = importlib.util.find_spec("coverage") is not None
    use_map = not args.tests and not args.no_map and have_coverage
    command = " ".join(["python", "tools/mutate.py", *sys.argv[1:]])
    if not args.report:
        # a kill of the tool (SIGTERM) unwinds like Ctrl-C, so the module on disk is restored
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        server = ForkServer()
        server.profile(args.profile)
        cmap = None
        scope = args.scope or default_scope(ALL_TARGETS if args.all else args.targets)
        if use_map:
            if args.remap and args.map.exists():
                args.map.unlink()
            cmap = coverage_map(modules, scope, args.map, server)
            server.preload(cmap["imported"], own=not args.fresh)
            server.patching = not args.fresh
        else:
            if not have_coverage and not args.tests:
                print(
                    "coverage.py is not installed: every mutant runs its mirror tests", flush=True
                )
            server.preload(["numpy", "scipy.linalg", "autograd", "hypothesis", "pytest", "numba"])
        for module in modules:
            mutate_module(
                module,
                args.tests,
                args.max,
                args.seed,
                server,
                cmap,
                outcomes,
                restorer,
                rerun=args.rerun,
                only=None if args.only is None else set(args.only),
                start=args.start,
            )
            write_report([module], args, outcomes, command)
    else:
        write_report(modules, args, outcomes, None)


def write_report(modules: list[Path], args, outcomes: Outcomes, command: str | None) -> None:
    """Merge the records of ``modules``, built from the cached outcomes, into ``--out``."""
    cmap = None
    if not args.tests and not args.no_map and args.map.exists():
        cmap = _upgrade(json.loads(args.map.read_text())) or None
    results = json.loads(args.out.read_text()) if args.out.exists() else {"modules": {}}
    if args.start:
        for module in modules:
            rec = held_out(module, args.seed, (args.start, args.max), cmap, outcomes)
            rec["command"] = command
            entry = results["modules"].setdefault(module.as_posix(), {})
            if rec["mutants"] or "held_out" not in entry:
                entry["held_out"] = rec
            print(survivors_text(rec).splitlines()[0].lstrip("# "), flush=True)
        _save(results, args.out)
        return
    for module in modules:
        rec = report(module, args.seed, cmap, outcomes, args.tests)
        old = results["modules"].get(module.as_posix(), {})
        rec["command"] = command or old.get("command")
        if rec["mutants"] == 0 and old:
            continue  # nothing cached for this source: keep the last record
        if "before" in old and not old.get("sampled", False) and not rec["sampled"]:
            rec["before"] = old["before"]  # a complete earlier run stays the "before"
        elif old and not old.get("sampled", False) and rec["sampled"]:
            keep = ("mutants", "killed", "uncovered", "equivalent", "score", "command")
            rec["last_complete_run"] = {k: old.get(k) for k in keep}
        elif "last_complete_run" in old and rec["sampled"]:
            rec["last_complete_run"] = old["last_complete_run"]
        results["modules"][module.as_posix()] = rec
        text = survivors_text(rec)
        print(text.splitlines()[0].lstrip("# "), flush=True)
        if args.survivors_dir is not None:
            args.survivors_dir.mkdir(parents=True, exist_ok=True)
            name = module.as_posix().replace("/", "_").removesuffix(".py") + ".txt"
            (args.survivors_dir / name).write_text(text)
    _save(results, args.out)


if __name__ == "__main__":
    main()
