"""A small static checker for Python sources: the ``lint`` step of the software CI pipeline.

It parses each file with :mod:`ast` (nothing is imported or run) and reports a handful of the
problems flake8/ruff report, under the same codes, so the course has no hard dependency on a linter.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "m.py").write_text("import os")
>>> [str(f) for f in find_lint_problems(folder)]
["m.py:1: F401 'os' imported but unused"]
"""

from __future__ import annotations

import ast
import builtins
import os
from dataclasses import dataclass
from pathlib import Path

from mlcicd.errors import InputError

MAX_LINE_LENGTH = 100
# PEP 695 type parameters (Python >= 3.12) bind names too
_TYPE_PARAMS = tuple(
    getattr(ast, n) for n in ("TypeVar", "ParamSpec", "TypeVarTuple") if hasattr(ast, n)
)
_KNOWN = set(dir(builtins)) | {
    *("__file__", "__name__", "__doc__", "__spec__", "__path__", "__loader__", "__package__"),
    *("__builtins__", "__module__", "__qualname__", "__class__"),
}


@dataclass(frozen=True)
class LintFinding:
    """One problem found by :func:`find_lint_problems`; ``code`` follows flake8/ruff's."""

    path: str
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.code} {self.message}"


def find_lint_problems(
    folder: str | os.PathLike, *, max_line_length: int = MAX_LINE_LENGTH
) -> tuple[LintFinding, ...]:
    """Statically check every ``.py`` file under ``folder`` (nothing is imported or run).

    Codes: ``E999`` syntax error, ``F401`` unused import, ``F821`` undefined name (a name bound
    nowhere in the file and not a builtin), ``E501`` line longer than ``max_line_length``,
    ``W291`` trailing whitespace, ``E902`` unreadable file. The name checks are per file, not per scope: they never flag a
    used import, but can miss one shadowed in another function.
    """
    root = Path(folder)
    findings: list[LintFinding] = []
    for path in python_files(root):
        rel = path.relative_to(root).as_posix()
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            findings.append(LintFinding(rel, 0, "E902", "not UTF-8 text"))
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if len(line) > max_line_length:
                message = f"line too long ({len(line)} > {max_line_length})"
                findings.append(LintFinding(rel, number, "E501", message))
            if line != line.rstrip():
                findings.append(LintFinding(rel, number, "W291", "trailing whitespace"))
        try:
            tree = ast.parse(text, filename=str(path))
        except SyntaxError as exc:
            findings.append(LintFinding(rel, exc.lineno or 0, "E999", f"syntax error: {exc.msg}"))
            continue
        findings.extend(_name_problems(tree, rel))
    return tuple(sorted(findings, key=lambda f: (f.path, f.line, f.code)))


# one branch per kind of AST node that binds or uses a name: a dispatch reads best as one function
def _name_problems(tree: ast.Module, rel: str) -> list[LintFinding]:  # noqa: C901
    imports: dict[str, int] = {}  # bound name -> line of its import
    bound, loaded, star = set(), [], False
    exported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                continue
            for alias in node.names:
                if alias.name == "*":
                    star = True
                    continue
                as_name = alias.asname or alias.name.split(".")[0]
                bound.add(as_name)
                if alias.asname != alias.name:  # "import x as x" is an explicit re-export
                    imports.setdefault(as_name, node.lineno)
        elif isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loaded.append(node)
            else:
                bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif isinstance(node, _TYPE_PARAMS):
            bound.add(node.name)
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            exported.update(
                e.value
                for e in ast.walk(node.value)
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            )
    used = {node.id for node in loaded}
    out = [
        LintFinding(rel, line, "F401", f"{name!r} imported but unused")
        for name, line in imports.items()
        if name not in used and name not in exported
    ]
    if not star:
        out += [
            LintFinding(rel, node.lineno, "F821", f"undefined name {node.id!r}")
            for node in loaded
            if node.id not in bound and node.id not in _KNOWN
        ]
    return out


def python_files(folder: str | os.PathLike, pattern: str = "*.py") -> list[Path]:
    """Files under ``folder`` matching ``pattern``, sorted, without ``__pycache__`` content."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"source folder {root}: no such folder")
    return sorted(
        p
        for p in root.rglob(pattern)
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    )
