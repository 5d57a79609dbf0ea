"""Content hashes of plain data: equal content, equal hash; any change, another hash."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mlcicd.hashing import canonical, canonical_fingerprint, sha256_text


@dataclass(frozen=True)
class Point:
    x: int
    y: float


def test_sha256_text_is_the_hex_digest_of_the_utf8_bytes():
    assert sha256_text("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert sha256_text("é") != sha256_text("e")


def test_order_of_a_mapping_or_set_does_not_matter_but_order_of_a_list_does():
    assert canonical_fingerprint({"a": 1, "b": 2}) == canonical_fingerprint({"b": 2, "a": 1})
    assert canonical_fingerprint({1, 2, 3}) == canonical_fingerprint({3, 2, 1})
    assert canonical_fingerprint([1, 2]) != canonical_fingerprint([2, 1])


def test_types_that_print_alike_hash_apart():
    values = [1, 1.0, "1", True, None, [1], {"1": 1}, {1}, Point(1, 1.0)]
    assert len({canonical_fingerprint(v) for v in values}) == len(values)


def test_numpy_values_hash_by_content_dtype_and_shape():
    a = np.arange(6, dtype=np.int64)
    assert canonical_fingerprint(a) == canonical_fingerprint(a.copy())
    assert canonical_fingerprint(a) != canonical_fingerprint(a.reshape(2, 3))
    assert canonical_fingerprint(a) != canonical_fingerprint(a.astype(np.int32))
    assert canonical(np.float64(0.5)) == 0.5 and canonical(Path("a/b")) == "a/b"


def test_non_finite_floats_have_a_canonical_form():
    assert canonical(float("nan")) == "nan" and canonical(float("-inf")) == "-inf"


def test_a_dataclass_hashes_by_its_fields():
    assert canonical_fingerprint(Point(1, 2.0)) == canonical_fingerprint(Point(1, 2.0))
    assert canonical_fingerprint(Point(1, 2.0)) != canonical_fingerprint(Point(1, 2.5))


def test_a_value_without_a_canonical_form_is_a_type_error():
    with pytest.raises(TypeError, match="object"):
        canonical(object())
