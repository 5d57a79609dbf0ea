"""The command line imports only what the chosen command needs (issue 13): asserted on the
modules a fresh process has loaded, never on a timing."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pandas", "sklearn", "scipy", "skops")

PROBE = """
import json, sys
from mlcicd.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy})))
"""


def loaded(tmp_path, *argv: str) -> list[str]:
    """The heavy top-level packages loaded after ``mlcicd ARGV`` in a new process."""
    code = PROBE.format(heavy=repr(set(HEAVY)))
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-500:]
    return sorted({m.split(".")[0] for m in json.loads(done.stdout.splitlines()[-1])})


def test_help_imports_no_data_science_package(tmp_path):
    assert loaded(tmp_path, "--help") == []
    assert loaded(tmp_path, "validate-data", "--help") == []
    assert loaded(tmp_path, "train", "--help") == []


def test_validate_data_without_cache_imports_pandas_but_not_scikit_learn(tmp_path):
    rows = "a,b\n1,x\n2,y\n3,x\n"
    (tmp_path / "d.csv").write_text(rows)
    assert "sklearn" not in loaded(tmp_path, "infer-schema", "d.csv", "-o", "s.json", "--no-cache")
    got = loaded(tmp_path, "validate-data", "d.csv", "--schema", "s.json", "--no-cache")
    assert got == ["pandas"]


def test_a_cache_hit_imports_neither_pandas_nor_scikit_learn(tmp_path):
    rows = "a,b,target\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40))
    (tmp_path / "d.csv").write_text(rows)
    commands = [
        ("infer-schema", "d.csv", "-o", "s.json", "--target", "target"),
        ("validate-data", "d.csv", "--schema", "s.json"),
        ("train", "d.csv", "--target", "target", "-o", "m.skops"),
        ("test-model", "m.skops", "d.csv", "--target", "target"),
        ("monitor", "d.csv", "d.csv", "--target", "target"),
    ]
    for argv in commands:
        assert "pandas" in loaded(tmp_path, *argv)  # the first run computes
    for argv in commands:
        assert loaded(tmp_path, *argv) == [], argv  # the same run again is a hit
