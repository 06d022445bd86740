import polars as pl
import pytest

from societas.analysis._scalars import number, number_or_none


def test_numbers_pass_through_with_their_type():
    assert number(pl.Series([1, 4]).max()) == 4
    assert isinstance(number(pl.Series([1, 4]).max()), int)
    assert number(pl.Series([1.0, 2.0]).mean()) == 1.5
    assert number(pl.Series([True, False]).mean()) == 0.5


def test_a_null_or_non_numeric_aggregate_is_refused():
    with pytest.raises(TypeError, match="expected a number, got None"):
        number(pl.Series([], dtype=pl.Float64).mean())
    with pytest.raises(TypeError, match="'b'"):
        number(pl.Series(["a", "b"]).max())
    assert number_or_none(pl.Series([], dtype=pl.Int64).min()) is None
    assert number_or_none(pl.Series([3, 5]).median()) == 4.0
