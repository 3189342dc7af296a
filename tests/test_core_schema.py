"""The one table of compute parameters and bounds (core/schema.py): core validation, CLI and settings agree."""

from __future__ import annotations

import pytest

from smoothgrad_desktop.cli import main
from smoothgrad_desktop.core import schema
from smoothgrad_desktop.core.errors import AttributionError
from smoothgrad_desktop.core.smoothing import SmoothingConfig


@pytest.mark.parametrize("field, bad", [
    ("n_samples", 0), ("n_samples", 1_000_000_000), ("steps", 0), ("steps", 10**7), ("seed", -1),
    ("seed", 2**40), ("noise_level", float("nan")), ("noise_level", -0.1), ("noise_level", 1e6),
    ("batch_size", 0), ("batch_size", 10**6), ("method", "nope"), ("precision", "fp8"), ("n_samples", True),
])
def test_config_refuses_out_of_bounds_values(field, bad):
    with pytest.raises(AttributionError) as info:
        SmoothingConfig(**{field: bad}).validate()
    assert "\n" not in str(info.value)


def test_total_work_is_capped_even_when_each_field_is_in_bounds():
    SmoothingConfig(method="integrated-gradients", n_samples=1000, steps=10_000).validate()  # 10^7: at the cap
    with pytest.raises(AttributionError, match="model evaluations"):
        SmoothingConfig(method="integrated-gradients", n_samples=1001, steps=10_000).validate()
    # without IG the steps cost nothing, and without smoothing the samples cost nothing
    SmoothingConfig(method="gradient", n_samples=100_000, steps=10_000).validate()
    SmoothingConfig(method="integrated-gradients", aggregation="none", n_samples=100_000, steps=10_000).validate()


@pytest.mark.parametrize("flag, value", [("--samples", "1000000000"), ("--steps", "99999999"), ("--seed", "-5"),
                                         ("--noise-level", "inf"), ("--batch-size", "0"), ("--samples", "abc")])
def test_cli_refuses_out_of_bounds_values_as_usage_errors(flag, value, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["compute", "x.png", "--out", str(tmp_path / "o"), flag, value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_cli_and_config_share_defaults_and_bounds():
    import argparse

    parser = argparse.ArgumentParser()
    schema.add_arguments(parser)
    args = parser.parse_args([])
    assert SmoothingConfig(**{f.name: getattr(args, f.name) for f in schema.FIELDS}) == SmoothingConfig()
    limit = schema.BY_NAME["n_samples"].hi
    assert parser.parse_args(["--samples", str(limit)]).n_samples == limit
    with pytest.raises(SystemExit):
        parser.parse_args(["--samples", str(limit + 1)])


@pytest.mark.parametrize("name, value, expected", [
    ("n_samples", "70", 70), ("n_samples", "1e12", None), ("n_samples", True, None), ("seed", -3, None),
    ("noise_level", "0.2", 0.2), ("noise_level", "nan", None), ("method", "guided-backprop", "guided-backprop"),
    ("method", 3, None), ("steps", None, None),
])
def test_coerce_untrusted_values(name, value, expected):
    assert schema.coerce(name, value) == expected
