"""Tests for mlcicd.validation: schema inference, schema files, and the anomalies found."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlcicd.data import load_dataset
from mlcicd.errors import InputError
from mlcicd.validation import (
    ANOMALY_KINDS,
    Anomaly,
    ColumnSchema,
    Schema,
    ValidationReport,
    infer_schema,
    load_schema,
    save_schema,
    validate_data,
)


@pytest.fixture
def ref() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [0.0, 1.0, 2.0, 10.0],
            "n": [1, 2, 3, 5],
            "c": ["a", "b", "a", "b"],
            "b": [True, False, True, True],
            "s": ["u1", "u2", "u3", "u4"],
            "opt": [1.0, np.nan, 3.0, 4.0],
            "target": [0, 1, 0, 1],
        }
    )


@pytest.fixture
def schema(ref) -> Schema:
    return infer_schema(ref, target="target", max_categories=2, slack=0.1)


def found(report: ValidationReport) -> list[tuple[str, str, int]]:
    return [(a.column, a.kind, a.count) for a in report.anomalies]


# ------------------------------------------------------------------ inference


def test_infer_schema_types_ranges_and_categories(schema):
    assert schema.names == ("x", "n", "c", "b", "s", "opt", "target")
    assert schema.target == "target"
    # x never was negative: the widened range (-1 .. 11) keeps its sign and starts at 0
    assert schema.column("x") == ColumnSchema("x", "float", True, False, 0.0, 11.0)
    assert schema.column("n") == ColumnSchema("n", "int", True, False, 0, 6)  # 1-0.4, 5+0.4
    assert schema.column("c") == ColumnSchema("c", "category", categories=("a", "b"))
    assert schema.column("b") == ColumnSchema("b", "bool")
    assert schema.column("s") == ColumnSchema("s", "string")  # 4 values > max_categories=2
    assert schema.column("opt").nullable and not schema.column("x").nullable
    assert schema.column("opt").min == pytest.approx(0.7)
    assert all(c.required for c in schema.columns)
    with pytest.raises(InputError, match=r"'zz'.*x, n, c"):
        schema.column("zz")


def test_infer_schema_rejects_bad_arguments(ref):
    with pytest.raises(InputError, match="'label'"):
        infer_schema(ref, target="label")
    with pytest.raises(InputError, match="slack must be a finite number >= 0, got -1"):
        infer_schema(ref, slack=-1)
    with pytest.raises(InputError, match=r"max_categories must be an int >= 0, got 2.5"):
        infer_schema(ref, max_categories=2.5)
    with pytest.raises(InputError, match="duplicate column names: x"):
        infer_schema(pd.concat([ref, ref[["x"]]], axis=1))


def test_reference_data_is_valid_against_its_own_schema():
    df = load_dataset()
    report = validate_data(df, infer_schema(df, target="target"))
    assert report.valid
    assert report.to_dict() == {"valid": True, "n_rows": 569, "n_columns": 31, "anomalies": []}
    assert list(report.to_frame().columns) == ["column", "kind", "detail", "count"]


# ------------------------------------------------------------------ each anomaly kind


def test_missing_unexpected_and_duplicate_columns(ref, schema):
    df = ref.drop(columns=["s"]).assign(extra=1)
    df = pd.concat([df, df[["x"]]], axis=1)
    assert found(validate_data(df, schema)) == [
        ("x", "duplicate_column", 2),
        ("s", "missing_column", 1),
        ("extra", "unexpected_column", 1),
    ]


def test_wrong_type_strings_in_float_column_still_checks_range(ref, schema):
    df = ref.assign(x=["1.0", "oops", "-50", "inf"])
    report = validate_data(df, schema)
    assert found(report) == [
        ("x", "wrong_type", 1),
        ("x", "non_finite", 1),
        ("x", "out_of_range", 1),
    ]
    detail = report.anomalies[-1].detail
    assert "1 below min 0 " in detail and "observed -50 .. 1" in detail


def test_wrong_type_non_integral_floats_in_int_column(ref, schema):
    df = ref.assign(n=[1.0, 2.5, 3.0, 4.75])
    assert found(validate_data(df, schema)) == [("n", "wrong_type", 2)]
    assert validate_data(ref.assign(n=[1.0, 2.0, 3.0, 4.0]), schema).valid


def test_missing_values_only_in_non_nullable_columns(ref, schema):
    df = ref.assign(x=[np.nan, 1.0, np.nan, 2.0], c=["a", None, "b", "a"], opt=np.nan)
    df["opt"] = [np.nan, np.nan, np.nan, 4.0]
    assert found(validate_data(df, schema)) == [
        ("x", "missing_values", 2),
        ("c", "missing_values", 1),
    ]


def test_an_entirely_missing_column_is_reported_even_when_nullable(ref, schema):
    df = ref.assign(opt=np.nan, c=None)
    report = validate_data(df, schema)
    assert found(report) == [("c", "missing_values", 4), ("opt", "missing_values", 4)]
    assert all("all 4 values missing" in a.detail for a in report.anomalies)


def test_a_column_that_never_changed_sign_keeps_it():
    ref = pd.DataFrame({"area": [10.0, 20.0, 30.0], "loss": [-5, -1, -3], "t": [-2.0, 0.0, 4.0]})
    schema = infer_schema(ref, slack=0.5)
    assert (schema.column("area").min, schema.column("area").max) == (0.0, 40.0)
    assert (schema.column("loss").min, schema.column("loss").max) == (-7, 0)
    assert (schema.column("t").min, schema.column("t").max) == (-5.0, 7.0)  # both signs: widened
    bad = ref.assign(area=[10.0, -1.0, 5.0], loss=[-1, 1, -2])
    assert found(validate_data(bad, schema)) == [
        ("area", "out_of_range", 1),
        ("loss", "out_of_range", 1),
    ]


def test_a_category_seen_only_at_serving_time_is_reported():
    from mlcicd.data import penguins_like

    data = penguins_like(n=120, seed=1)
    schema = infer_schema(data, target="species")
    serving = data.drop(columns="species").head(10).assign(island="Atlantis")
    report = validate_data(serving, schema, serving=True)
    assert found(report) == [("island", "unknown_category", 10)]
    assert "'Atlantis'" in report.anomalies[0].detail


def test_non_finite_and_out_of_range_are_counted_separately(ref, schema):
    df = ref.assign(x=[np.inf, -np.inf, 12.0, -5.0], n=[0, 6, 7, -3])
    report = validate_data(df, schema)
    assert found(report) == [
        ("x", "non_finite", 2),
        ("x", "out_of_range", 2),
        ("n", "out_of_range", 2),
    ]
    assert report.anomalies[0].detail == "1 x +inf and 1 x -inf"
    assert report.anomalies[2].detail == "1 below min 0 and 1 above max 6 (observed -3 .. 7)"


def test_unknown_category_counts_and_examples(ref, schema):
    df = ref.assign(c=["a", "z", "y", "z"])
    report = validate_data(df, schema)
    assert found(report) == [("c", "unknown_category", 3)]
    assert report.anomalies[0].detail.endswith("e.g. 'z', 'y'")
    many = pd.DataFrame({"c": list("abcdefgh")})
    one = Schema((ColumnSchema("c", "category", categories=("a",)),))
    detail = validate_data(many, one).anomalies[0].detail
    assert detail == "7 values not among the categories, e.g. 'b', 'c', 'd', 'e', 'f'"


def test_bool_and_string_columns(ref, schema):
    df = ref.assign(b=pd.Series([True, "yes", 2, False], dtype=object), s=[1, 2, 3, 4])
    assert found(validate_data(df, schema)) == [("b", "wrong_type", 2), ("s", "wrong_type", 4)]


def test_empty_dataset(ref, schema):
    report = validate_data(ref.iloc[:0], schema)
    assert found(report) == [("*", "empty_dataset", 0)]
    assert not report.valid and report.n_rows == 0


def test_all_anomalies_reported_in_one_call(ref, schema):
    df = ref.drop(columns="s").assign(
        x=[np.nan, np.inf, 100.0, 1.0], n=[1, 2, 3, 99], c=["a", "q", "b", "a"], more=0
    )
    report = validate_data(df, schema)
    assert found(report) == [
        ("s", "missing_column", 1),
        ("more", "unexpected_column", 1),
        ("x", "missing_values", 1),
        ("x", "non_finite", 1),
        ("x", "out_of_range", 1),
        ("n", "out_of_range", 1),
        ("c", "unknown_category", 1),
    ]
    assert {a.kind for a in report.anomalies} <= set(ANOMALY_KINDS)
    d = report.to_dict()
    assert d["valid"] is False and d["n_rows"] == 4 and len(d["anomalies"]) == 7
    assert d["anomalies"][0] == {
        "column": "s",
        "kind": "missing_column",
        "detail": "required column is absent",
        "count": 1,
    }
    json.dumps(d)
    assert report.to_frame()["count"].tolist() == [1] * 7


def test_serving_mode_allows_absent_target_but_checks_present_one(ref, schema):
    no_label = ref.drop(columns="target")
    assert validate_data(no_label, schema, serving=True).valid
    assert found(validate_data(no_label, schema)) == [("target", "missing_column", 1)]
    bad_label = ref.assign(target=[0, 1, 7, 1])
    assert found(validate_data(bad_label, schema, serving=True)) == [("target", "out_of_range", 1)]
    assert found(validate_data(ref.drop(columns="x"), schema, serving=True)) == [
        ("x", "missing_column", 1)
    ]


def test_nullable_extension_dtypes_are_checked():
    schema = Schema((ColumnSchema("k", "int", min=0, max=10), ColumnSchema("f", "float", max=1)))
    df = pd.DataFrame(
        {
            "k": pd.array([1, None, 11, 3], dtype="Int64"),
            "f": pd.array([0.5, np.inf, None, 0.1], dtype="Float64"),
        }
    )
    assert found(validate_data(df, schema)) == [
        ("k", "missing_values", 1),
        ("k", "out_of_range", 1),
        ("f", "missing_values", 1),
        ("f", "non_finite", 1),
    ]


def test_large_float_frame_counts_are_exact():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.uniform(0, 1, size=(50_000, 6)), columns=list("abcdef"))
    schema = infer_schema(df, slack=0.0)
    df.iloc[::10, 0] = np.nan
    df.iloc[::7, 1] = -1.0
    df.iloc[[3, 5], 2] = np.inf
    assert found(validate_data(df, schema)) == [
        ("a", "missing_values", 5_000),
        ("b", "out_of_range", 7_143),
        ("c", "non_finite", 2),
    ]


def test_validate_rejects_non_frames(schema):
    with pytest.raises(InputError, match="DataFrame"):
        validate_data({"x": [1]}, schema)
    with pytest.raises(InputError, match="Schema"):
        validate_data(pd.DataFrame({"x": [1.0]}), {"columns": []})


# ------------------------------------------------------------------ schema files


def test_schema_json_round_trip(tmp_path, schema):
    path = tmp_path / "schema.json"
    save_schema(schema, path)
    assert load_schema(path) == schema
    on_disk = json.loads(path.read_text())
    assert on_disk["format"] == "mlcicd.schema" and on_disk["version"] == 1
    assert Schema.from_dict(schema.to_dict()) == schema
    assert not list(tmp_path.glob(".*tmp"))


def test_save_schema_into_missing_folder_fails_cleanly(tmp_path, schema):
    with pytest.raises(InputError, match="does not exist"):
        save_schema(schema, tmp_path / "nope" / "schema.json")


def _write(tmp_path, text: str):
    path = tmp_path / "schema.json"
    path.write_text(text)
    return path


def test_load_schema_missing_file_and_directory(tmp_path):
    missing = tmp_path / "absent.json"
    with pytest.raises(InputError, match=f"{missing}: no such file"):
        load_schema(missing)
    with pytest.raises(InputError, match=f"{tmp_path}: is a directory"):
        load_schema(tmp_path)


def test_load_schema_malformed_json(tmp_path):
    path = _write(tmp_path, '{"columns": [')
    with pytest.raises(InputError, match=f"{path}: malformed JSON at line 1"):
        load_schema(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"a": 1}, "not an mlcicd schema (missing key 'columns')"),
        ([1, 2], "not an mlcicd schema (expected a JSON object, got list)"),
        ({"columns": []}, "not an mlcicd schema (missing key 'format')"),
        ({"format": "other", "columns": []}, "format: 'other' is not 'mlcicd.schema'"),
        (
            {"format": "mlcicd.schema", "version": 9, "columns": []},
            "version: 9 unsupported (expected 1)",
        ),
        ({"format": "mlcicd.schema", "columns": {}}, "columns: expected a list of column objects"),
    ],
)
def test_load_schema_not_a_schema(tmp_path, content, message):
    path = _write(tmp_path, json.dumps(content))
    with pytest.raises(InputError) as info:
        load_schema(path)
    assert str(info.value) == f"schema {path}: {message}"


COLUMN_ERRORS = [
    ({"name": "a", "dtype": "floaty"}, "columns[0] ('a').dtype: 'floaty' is not one of int, "
     "float, bool, category, string"),
    ({"name": "a", "dtype": "float", "min": 3, "max": 1}, "columns[0] ('a').min: 3 is greater"),
    ({"name": "a", "dtype": "float", "max": "big"}, "columns[0] ('a').max: expected a finite"),
    ({"name": "a", "dtype": "int", "required": "yes"}, "columns[0] ('a').required: expected"),
    ({"name": "a", "dtype": "string", "min": 0}, "columns[0] ('a').min: must be null"),
    ({"name": "a", "dtype": "category"}, "columns[0] ('a').categories: expected a list"),
    ({"name": "a", "dtype": "float", "categories": ["x"]}, "columns[0] ('a').categories: must be null"),
    ({"name": "a", "dtype": "float", "unit": "cm"}, "columns[0]: unknown key 'unit'"),
    ({"dtype": "float"}, "columns[0]: missing key 'name'"),
    ({"name": "", "dtype": "float"}, "columns[0].name: expected a non-empty string"),
    ("a", "columns[0]: expected an object, got str"),
]  # fmt: skip


@pytest.mark.parametrize(("column", "message"), COLUMN_ERRORS)
def test_load_schema_bad_column_names_the_field(tmp_path, column, message):
    path = _write(tmp_path, json.dumps({"format": "mlcicd.schema", "columns": [column]}))
    with pytest.raises(InputError) as info:
        load_schema(path)
    assert str(info.value).startswith(f"schema {path}: {message}")


def test_from_dict_schema_level_errors():
    col = {"name": "a", "dtype": "float"}
    with pytest.raises(InputError, match="columns: duplicate names a"):
        Schema.from_dict({"format": "mlcicd.schema", "columns": [col, col]})
    with pytest.raises(InputError, match="target: 'y' is not one of the columns"):
        Schema.from_dict({"format": "mlcicd.schema", "columns": [col], "target": "y"})
    with pytest.raises(InputError, match="target: expected a column name"):
        Schema.from_dict({"format": "mlcicd.schema", "columns": [col], "target": 3})


def test_dataclasses_are_frozen_and_serialisable(schema):
    with pytest.raises(AttributeError):
        schema.target = "x"
    anomaly = Anomaly("x", "out_of_range", "2 above max 1", 2)
    assert anomaly.to_dict() == {
        "column": "x",
        "kind": "out_of_range",
        "detail": "2 above max 1",
        "count": 2,
    }
    assert json.loads(json.dumps(schema.to_dict()))["columns"][2]["categories"] == ["a", "b"]


def test_default_slack_lets_a_holdout_of_the_embedded_data_pass():
    """Real data has heavy tails: a fresh sample must not be flagged out of range by default."""
    from mlcicd.data import load_dataset, split

    for seed in range(5):
        train, holdout = split(load_dataset(), seed=seed)
        assert validate_data(holdout, infer_schema(train, target="target")).valid
