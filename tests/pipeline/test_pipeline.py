"""The pipeline: the generic stage runner, the run cache, and the seed's loop over versions.

Which stages ran is read from the run record and the cache counters, never from timings.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from mlcicd.data import load_dataset
from mlcicd.errors import InputError
from mlcicd.pipeline import PipelineResult, Stage, run_stages, run_versions
from mlcicd.pipeline.cache import Fingerprints, StageCache
from mlcicd.registry import Registry
from mlcicd.training import ModelSpec

# ------------------------------------------------------------------------------ generic runner


def load(path):
    return {"path": path, "rows": [1, 2, 3]}


def clean(load, drop=0):
    return [r for r in load["rows"] if r != drop]


def total(rows, scale):
    return scale * sum(rows)


def explode(clean):
    raise ValueError("disk on fire")


def test_runner_injects_arguments_by_name_and_records_each_stage_in_order():
    stages = [
        Stage("load", load),
        Stage("clean", clean),
        Stage("total", total, params={"scale": 10}, inputs={"rows": "clean"}),
    ]
    run = run_stages(stages, {"path": "x.csv", "drop": 2}, version=7)
    assert run.values == {
        "load": {"path": "x.csv", "rows": [1, 2, 3]},
        "clean": [1, 3],
        "total": 40,
    }
    assert [(r.stage, r.version, r.outcome, r.cached) for r in run.records] == [
        ("load", 7, "ok", False),
        ("clean", 7, "ok", False),
        ("total", 7, "ok", False),
    ]
    assert run.outcome == "ok"
    # a parameter with a default the context lacks keeps its default
    assert run_stages(stages[:2], {"path": "y"}).values["clean"] == [1, 2, 3]


def test_a_failing_stage_is_recorded_with_its_message_and_the_rest_is_skipped():
    stages = [Stage("load", load), Stage("clean", clean), Stage("boom", explode)]
    stages.append(Stage("total", total, params={"scale": 1}, inputs={"rows": "clean"}))
    run = run_stages(stages, {"path": "p"})
    outcomes = [(r.stage, r.outcome) for r in run.records]
    assert outcomes == [("load", "ok"), ("clean", "ok"), ("boom", "failed"), ("total", "skipped")]
    assert run.records[2].detail == "ValueError: disk on fire"
    assert run.records[3].detail == "after boom failed" and run.records[3].seconds == 0.0
    assert "boom" not in run.values and "total" not in run.values
    assert run.outcome == "failed"


def test_a_verdict_stops_the_run():
    verdict = lambda rows: ("rejected", "too few rows") if len(rows) < 3 else None  # noqa: E731
    stages = [Stage("load", load), Stage("clean", clean, verdict=verdict), Stage("more", clean)]
    run = run_stages(stages, {"path": "p", "drop": 1})
    assert [r.outcome for r in run.records] == ["ok", "rejected", "skipped"]
    assert run.records[1].detail == "too few rows"
    assert run.values["clean"] == [2, 3]


def test_runner_refuses_missing_inputs_unknown_parameters_and_duplicate_names():
    with pytest.raises(InputError, match=r"stage 'clean': no input 'load' for parameter 'load'"):
        run_stages([Stage("clean", clean)], {})
    with pytest.raises(InputError, match=r"stage 'clean': params names scale, not parameters"):
        Stage("clean", clean, params={"scale": 2})
    with pytest.raises(InputError, match="used twice"):
        run_stages([Stage("load", load), Stage("load", load)], {"path": "p"})


# ---------------------------------------------------------------------------------- run cache

CALLS: list[str] = []


def mean_of(df, column):
    CALLS.append("mean_of")
    return float(df[column].mean())


def shifted(mean_of, shift):
    CALLS.append("shifted")
    return mean_of + shift


def cached_run(cache, df, shift=1.0, fps=None):
    stages = [Stage("mean_of", mean_of), Stage("shifted", shifted, params={"shift": shift})]
    return run_stages(stages, {"df": df, "column": "x"}, cache=cache, fingerprints=fps)


def test_cache_reruns_only_what_changed():
    CALLS.clear()
    cache = StageCache()
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    first = cached_run(cache, df)
    assert CALLS == ["mean_of", "shifted"] and (cache.hits, cache.misses) == (0, 2)
    again = cached_run(cache, df.copy())  # equal content: same fingerprint
    assert CALLS == ["mean_of", "shifted"] and (cache.hits, cache.misses) == (2, 2)
    assert [r.cached for r in again.records] == [True, True]
    assert again.values == first.values == {"mean_of": 2.0, "shifted": 3.0}
    assert [r.key for r in again.records] == [r.key for r in first.records]
    cached_run(cache, df, shift=5.0)  # a changed parameter: only that stage runs
    assert CALLS[2:] == ["shifted"]
    cached_run(cache, pd.DataFrame({"x": [1.0, 2.0, 4.0]}))  # changed data: both run
    assert CALLS[3:] == ["mean_of", "shifted"]
    assert len(cache) == 5
    fps = dict(first.records[0].fingerprints)
    assert set(fps) == {"df", "column"} and fps["df"].startswith("frame:")
    # downstream stages are keyed by the provenance of their input
    assert dict(first.records[1].fingerprints) == {"mean_of": f"stage:{first.records[0].key}"}


def test_without_a_cache_everything_runs_and_unfingerprintable_inputs_are_not_cached():
    CALLS.clear()
    df = pd.DataFrame({"x": [1.0, 2.0]})
    cached_run(None, df)
    cached_run(None, df)
    assert CALLS == ["mean_of", "shifted"] * 2
    cache = StageCache()
    stage = Stage("first_line", lambda handle: handle.readline())
    for _ in range(2):
        with open(__file__) as handle:
            run = run_stages([stage], {"handle": handle}, cache=cache)
        assert run.records[0].key is None and not run.records[0].cached
    assert len(cache) == 0


def test_each_dataframe_is_fingerprinted_once_per_run(monkeypatch):
    import mlcicd.data

    calls = []
    real = mlcicd.data.fingerprint
    monkeypatch.setattr(mlcicd.data, "fingerprint", lambda df: calls.append(1) or real(df))
    fps, df = Fingerprints(), pd.DataFrame({"x": [1.0, 2.0]})
    for _ in range(3):
        cached_run(StageCache(), df, fps=fps)
    assert len(calls) == 1


def test_the_loop_hashes_its_training_frame_once_and_records_it_in_every_model(
    data, monkeypatch, tmp_path
):
    import mlcicd.data
    import mlcicd.training

    seen = []
    real = mlcicd.data.fingerprint
    counting = lambda df: seen.append(len(df)) or real(df)  # noqa: E731
    monkeypatch.setattr(mlcicd.data, "fingerprint", counting)
    monkeypatch.setattr(mlcicd.training, "fingerprint", counting)
    result = run_versions(4, data=data, validation="off", registry=tmp_path / "reg")
    train, _ = mlcicd.data.split(data, "target", holdout=0.25, seed=0)
    stored = [v.metadata["data_fingerprint"] for v in Registry(tmp_path / "reg").versions()]
    assert len(stored) == len(result.deployed) >= 2 and set(stored) == {real(train)}
    assert seen.count(len(train)) == 1  # not once more per version inside train_model


def test_code_version_changes_with_the_source():
    fps = Fingerprints()
    assert fps.code_version(mean_of) != fps.code_version(shifted)
    assert fps.code_version(mean_of) == Fingerprints().code_version(mean_of)


# ---------------------------------------------------------------------------- the seed's loop


@pytest.fixture(scope="module")
def data():
    return load_dataset()


def bad_copy(df: pd.DataFrame) -> pd.DataFrame:
    """The same data, but one feature in the wrong unit (x1000): out of the schema's range."""
    return df.assign(mean_radius=df["mean_radius"] * 1000)


def test_loop_counts_one_training_per_version_and_validation_by_mode(data):
    each = run_versions(4, data=data, validation="each")
    assert isinstance(each, PipelineResult)
    assert each.counts["train"] == each.counts["evaluate"] == each.counts["cycles"] == 4
    assert each.counts["validate_model"] == each.counts["monitor"] == 4
    assert each.counts["validate_data"] == 4
    assert run_versions(4, data=data, validation="once").counts["validate_data"] == 1
    off = run_versions(4, data=data, validation="off")
    assert off.counts["validate_data"] == 0 and off.counts["train"] == 4
    assert "validate_data" not in set(off.to_frame()["stage"])
    assert [s.param_dict["C"] for s in each.specs.values()] == [0.1, 0.3, 1.0, 3.0]
    assert each.deployed == sorted(each.deployed) and each.production == each.deployed[-1]


def test_a_rejected_version_does_not_stop_the_others(data):
    specs = [ModelSpec(), ModelSpec("dummy"), ModelSpec("logistic_regression", {"C": 0.3})]
    result = run_versions(specs, data=data)
    assert result.outcomes == {1: "deployed", 2: "rejected", 3: "deployed"}
    assert result.deployed == [1, 3] and result.production == 3
    assert not result.decisions[2].blessed
    assert any("baseline" in reason for reason in result.decisions[2].reasons)
    frame = result.to_frame().set_index(["version", "stage"])
    assert frame.loc[(2, "validate_model"), "outcome"] == "rejected"
    assert frame.loc[(2, "deploy"), "outcome"] == "skipped"
    assert frame.loc[(3, "deploy"), "outcome"] == "ok"
    # version 3 is compared with version 1, the production model at that point
    assert result.decisions[3].production_metrics == result.metrics[1]


def test_failed_data_validation_and_failed_training_are_recorded_per_version(data):
    result = run_versions(4, data=[data, bad_copy(data)])
    assert result.outcomes == {1: "deployed", 2: "failed", 3: "deployed", 4: "failed"}
    frame = result.to_frame().set_index(["version", "stage"])
    assert frame.loc[(2, "validate_data"), "outcome"] == "failed"
    assert "out_of_range" in frame.loc[(2, "validate_data"), "detail"]
    assert (frame.loc[2, "outcome"].drop("validate_data") == "skipped").all()
    assert result.counts["train"] == 2 and not result.data_reports[2].valid

    holes = data.copy()
    holes["mean_texture"] = np.nan  # a feature with no value at all: nothing to learn from
    result = run_versions(2, data=[data, holes], validation="off")
    assert result.outcomes == {1: "deployed", 2: "failed"}
    frame = result.to_frame().set_index(["version", "stage"])
    assert frame.loc[(2, "train"), "outcome"] == "failed"
    assert "'mean_texture' is entirely missing" in frame.loc[(2, "train"), "detail"]
    assert list(frame.loc[2, "outcome"]) == ["failed", "skipped", "skipped", "skipped", "skipped"]


def test_incremental_runs_train_only_what_changed(data):
    cache = StageCache()
    first = run_versions(4, data=data, cache=cache)
    assert first.counts["train"] == 4 and first.counts["validate_data"] == 1
    assert first.counts["cache_hits"] == first.from_cache["validate_data"] == 3  # same data
    again = run_versions(4, data=data, cache=cache)
    assert again.counts["train"] == again.counts["evaluate"] == again.counts["cycles"] == 0
    assert again.from_cache["train"] == 4
    assert again.counts["cache_misses"] == 0 and again.counts["cache_hits"] > 0
    assert again.decisions.keys() == first.decisions.keys()
    assert {v: d.to_dict() for v, d in again.decisions.items()} == {
        v: d.to_dict() for v, d in first.decisions.items()
    }
    frame = again.to_frame()
    assert frame.loc[frame["stage"] == "train", "cached"].all()

    more = run_versions(5, data=data, cache=cache)
    assert more.counts["train"] == more.counts["evaluate"] == more.counts["cycles"] == 1
    ran = more.to_frame().query("stage == 'train' and not cached")["version"].tolist()
    assert ran == [5]

    changed = data.assign(mean_area=data["mean_area"] * 1.01)
    assert run_versions(4, data=changed, cache=cache).counts["train"] == 4
    assert run_versions(4, data=data, cache=None).counts["train"] == 4


def comparable(result: PipelineResult, registry: Registry) -> dict:
    return {
        "decisions": {v: d.to_dict() for v, d in result.decisions.items()},
        "metrics": result.metrics,
        "outcomes": result.outcomes,
        "deployed": result.deployed,
        "versions": [
            (v.version, v.metadata["model_fingerprint"], v.metadata["params"])
            for v in registry.versions()
        ],
        "aliases": registry.aliases(),
        "history": registry.history(),
    }


SPECS = [
    ModelSpec("logistic_regression", {"C": 1.0}),
    ModelSpec("dummy"),
    ModelSpec("decision_tree", {"max_depth": 3}),
    ModelSpec("logistic_regression", {"C": 0.3}),
]


@pytest.fixture(scope="module")
def sequential(data, tmp_path_factory):
    registry = Registry(tmp_path_factory.mktemp("sequential"))
    return comparable(run_versions(SPECS, data=data, registry=registry), registry)


@pytest.mark.parametrize("backend", [None, "threading"])
def test_parallel_versions_give_the_sequential_result(data, sequential, tmp_path, backend):
    registry = Registry(tmp_path / "registry")
    result = run_versions(SPECS, data=data, registry=registry, n_jobs=2, backend=backend)
    assert comparable(result, registry) == sequential
    assert sequential["outcomes"][2] == "rejected" and len(sequential["versions"]) >= 2


@pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None,
    reason="dask.distributed is not installed (pip install 'mlcicd[distributed]')",
)
def test_dask_local_cluster_gives_the_sequential_result(data, sequential, tmp_path):
    registry = Registry(tmp_path / "registry")
    result = run_versions(SPECS, data=data, registry=registry, backend="dask", n_jobs=2)
    assert comparable(result, registry) == sequential


def test_two_runs_are_identical(data):
    one, two = run_versions(3, data=data, seed=5), run_versions(3, data=data, seed=5)
    assert one.metrics == two.metrics and one.outcomes == two.outcomes
    assert {v: d.to_dict() for v, d in one.decisions.items()} == {
        v: d.to_dict() for v, d in two.decisions.items()
    }
    assert [r.key for r in one.records] == [r.key for r in two.records]


def test_a_registry_run_starts_from_its_production_model(data, tmp_path):
    first = run_versions(2, data=data, registry=tmp_path / "reg")
    assert first.deployed == [1, 2] and first.counts["evaluate_production"] == 0
    registry = Registry(tmp_path / "reg")
    assert registry.aliases() == {"production": 2, "previous": 1}
    assert registry.get(2).metadata["schema"]["target"] == "target"
    second = run_versions(2, data=data, registry=registry)
    # the production model from the registry is scored once on the holdout, then compared
    assert second.counts["evaluate_production"] == 1
    assert second.decisions[1].production_metrics == first.metrics[2]
    # identical models are promoted again, not stored twice
    assert [v.version for v in registry.versions()] == [1, 2]
    assert second.deployed == [1, 2]


def test_result_tables(data):
    result = run_versions(3, data=data, validation="once")
    frame = result.to_frame()
    assert list(frame.columns) == ["version", "stage", "seconds", "cached", "outcome", "detail"]
    assert len(frame) == len(result.records) == 3 + 3 * 6  # setup + 6 stages per version
    totals = result.stage_totals()
    assert list(totals)[:4] == ["split", "infer_schema", "baseline", "validate_data"]
    assert totals["train"] == pytest.approx(frame.query("stage == 'train'")["seconds"].sum())
    table = result.summary_table()
    assert table.splitlines()[0].split() == [
        "stage",
        "runs",
        "cached",
        "skipped",
        "seconds",
        "share",
    ]
    rows = {line.split()[0]: line.split()[1:4] for line in table.splitlines()[2:-3]}
    assert rows["validate_data"] == ["1", "2", "0"] and rows["train"] == ["3", "0", "0"]
    assert table.endswith(
        "3 model versions: 3 training + validation cycles run; 3 deployed, 0 rejected, 0 failed"
    )
    wide = result.to_frame(fingerprints=True).set_index(["version", "stage"])
    # train_model's schema parameter takes the run's schema (its preprocessing is built from it)
    assert set(wide.loc[(1, "train"), "fingerprints"]) == {
        "df",
        "data_fingerprint",
        "target",
        "spec",
        "seed",
        "schema",
    }
    assert pd.isna(wide.loc[(1, "deploy"), "key"])  # a side effect is never cached
    payload = result.to_dict()
    assert payload["counts"]["train"] == 3 and len(payload["records"]) == len(frame)


def test_monitoring_uses_the_given_batch(data):
    from mlcicd.data import production_batches

    batch = production_batches(
        data, n_batches=1, batch_size=300, covariate_shift=3.0, drift_start=0
    )[0]
    result = run_versions(2, data=data, monitor_batch=batch, validation="off")
    assert all(report.retrain and report.n_current == 300 for report in result.drift.values())
    frame = result.to_frame().set_index(["version", "stage"])
    assert frame.loc[(1, "monitor"), "detail"] == "retrain"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"versions": 0}, "versions must be an int >= 1, got 0"),
        ({"versions": ["random_forest", "svm"]}, r"versions\[1\]: unknown model 'svm'"),
        (
            {"validation": "sometimes"},
            "validation must be one of 'each', 'once', 'off', got 'sometimes'",
        ),
        ({"seed": "0"}, "seed must be an int, got '0'"),
        ({"n_jobs": 0}, "n_jobs must be .*, got 0"),
        (
            {"backend": "spark"},
            "backend must be one of None, 'loky', 'threading', 'dask', got 'spark'",
        ),
        ({"scheduler": "tcp://x:1"}, "scheduler: only used with backend='dask'"),
        ({"thresholds": {"speed": 0.5}}, "unknown metric 'speed'"),
        ({"target": "label"}, r"data\[0\]: no target column 'label'"),
        ({"monitor_batch": pd.DataFrame({"a": [1]})}, "monitor_batch: missing feature column"),
        ({"registry": 3}, "registry: expected a Registry or a folder path"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(data, kwargs, message):
    kwargs = {"versions": 2, "data": data, **kwargs}
    with pytest.raises(InputError, match=message):
        run_versions(kwargs.pop("versions"), **kwargs)


def test_dask_backend_without_dask_says_what_to_install(monkeypatch, data):
    import builtins

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.split(".")[0] in ("distributed", "dask"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(InputError, match=r"install it with: pip install 'mlcicd\[distributed\]'"):
        run_versions(2, data=data, backend="dask")


def test_trained_models_are_fingerprinted_by_their_fitted_model(data):
    """Two TrainedModels with the same spec and metadata but other weights get other keys."""
    import copy

    from mlcicd.training import TrainedModel, model_fingerprint, train_model

    trained = train_model(data, "target", ModelSpec("logistic_regression"), seed=0)
    nudged = copy.deepcopy(trained.model)
    nudged[-1].intercept_ = nudged[-1].intercept_ + 1e-6
    other = TrainedModel(nudged, trained.spec, trained.metadata)
    fps = Fingerprints()
    assert fps.of(trained) != fps.of(other)
    assert fps.of(trained) == Fingerprints().of(trained)
    assert model_fingerprint(trained.model) != model_fingerprint(nudged)


# ---------------------------------------------------------------------- a domain-free engine


def test_a_value_gives_its_own_fingerprint_and_is_asked_once_per_run():
    class Tagged:
        asked = 0

        def __fingerprint__(self):
            Tagged.asked += 1
            return "tagged:1"

    fps, value = Fingerprints(), Tagged()
    assert fps.of(value) == fps.of(value) == "tagged:1" and Tagged.asked == 1


def test_the_engine_orders_unknown_stages_as_they_ran():
    from mlcicd.pipeline.runner import run_stages

    def zeta(x):
        return x + 1

    def alpha(zeta):
        return 2 * zeta

    run = run_stages([Stage("zeta", zeta), Stage("alpha", alpha)], {"x": 1})
    assert list(run.stage_totals()) == ["zeta", "alpha"] and run.values["alpha"] == 4


def test_the_step_modules_do_not_import_the_engine():
    """Steps sit below the engine: no import of mlcicd.pipeline, even inside a function (the
    registry used to import the disk cache for StoredModel)."""
    import ast
    from pathlib import Path

    import mlcicd

    steps = ["data", "training", "registry", "evaluation", "validation", "monitoring"]
    for name in steps:
        tree = ast.parse((Path(mlcicd.__file__).parent / f"{name}.py").read_text())
        imported = [
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        ]
        assert not [m for m in imported if m and m.startswith("mlcicd.pipeline")], name
