"""Mutation testing for tensornet: do the tests notice when the code is wrong?

Every mutant changes one token of a module (an arithmetic or comparison operator, a boolean
operator or constant, an integer constant, a ``.T`` transpose dropped, a ``not`` dropped), the
module's tests run against it, and the mutant is *killed* when they fail (or time out). The
score of a module is killed / all; survivors are printed with their line so a person can judge
each one: a missing test, or an equivalent mutant (no behaviour can tell it apart), whose reason
goes into ``tools/mutation_equivalent.json``.

Run from the repository root (it edits the module in place and always restores it)::

    python tools/mutate.py tensornet/algebra/truncation.py
    python tools/mutate.py tensornet/formats/tt.py --tests tests/formats/test_tt.py --max 60
    python tools/mutate.py --all   # decompositions/, formats/, algebra/, nn/layers.py, nn/optim.py

It is slow (one test run per mutant) and does not run in CI; ``--out`` (default
``benchmarks/results/mutation.json``) keeps the last results, merged per module.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
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


def run_tests(tests: list[str], timeout: float) -> tuple[bool, float]:
    """Whether the tests pass, and how long they took (a timeout counts as a failure)."""
    env = dict(os.environ, HYPOTHESIS_PROFILE="ci", PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, time.perf_counter() - start
    return done.returncode == 0, time.perf_counter() - start


def mutate_module(module: Path, tests: list[str], limit: int | None, seed: int) -> dict:
    """Run every mutant (or ``limit`` drawn with ``seed``) of one module; returns its record."""
    ok, base = run_tests(tests, timeout=3600)
    if not ok:
        raise SystemExit(f"the tests of {module} fail before any mutation: {tests}")
    todo = mutants(ROOT / module)
    for m in todo:
        m.id = m.id.replace((ROOT / module).as_posix(), module.as_posix())
    todo = [m for m in todo if _compiles(apply((ROOT / module).read_text(), m))]
    if limit is not None and len(todo) > limit:
        todo = sorted(random.Random(seed).sample(todo, limit), key=lambda m: (m.line, m.col))
    path = ROOT / module
    original = path.read_text()
    try:
        for k, m in enumerate(todo, 1):
            path.write_text(apply(original, m))
            passed, _ = run_tests(tests, timeout=max(60.0, 3 * base))
            m.status = "survived" if passed else "killed"
            print(f"[{k}/{len(todo)}] {m.status:8s} {m.id}  | {m.source_line}", flush=True)
    finally:
        path.write_text(original)
    killed = sum(m.status == "killed" for m in todo)
    equivalent = _equivalent()
    survivors = [
        {**asdict(m), "equivalent": equivalent.get(m.id)} for m in todo if m.status == "survived"
    ]
    judged = sum(1 for s in survivors if s["equivalent"])
    return {
        "module": module.as_posix(),
        "tests": tests,
        "mutants": len(todo),
        "killed": killed,
        "score": killed / len(todo) if todo else 1.0,
        "score_non_equivalent": killed / (len(todo) - judged) if len(todo) > judged else 1.0,
        "survivors": survivors,
        "baseline_test_seconds": base,
    }


def _equivalent() -> dict[str, str]:
    return json.loads(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("targets", nargs="*", help="modules or package folders")
    ap.add_argument("--all", action="store_true", help="the modules of the issue's target")
    ap.add_argument("--tests", nargs="+", default=None, help="tests to run (default: mirror)")
    ap.add_argument("--max", type=int, default=None, help="at most this many mutants per module")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    args = ap.parse_args()
    modules = _modules(ALL_TARGETS if args.all else args.targets)
    if not modules:
        ap.error("give modules, folders or --all")
    if args.list:
        for module in modules:
            for m in mutants(ROOT / module):
                print(f"{module}:{m.line}:{m.col} {m.original!r} -> {m.mutated!r}")
        return
    results = json.loads(args.out.read_text()) if args.out.exists() else {"modules": {}}
    for module in modules:
        tests = args.tests or tests_for(module)
        record = mutate_module(module, tests, args.max, args.seed)
        record["command"] = " ".join(["python", "tools/mutate.py", *sys.argv[1:]])
        results["modules"][module.as_posix()] = record
        print(
            f"{module}: {record['killed']}/{record['mutants']} killed "
            f"({100 * record['score']:.1f}%, {100 * record['score_non_equivalent']:.1f}% of the "
            f"non-equivalent), {len(record['survivors'])} survivors"
        )
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(args.out)


if __name__ == "__main__":
    main()
