"""SimulatorConfig: profile defaults, validation and runtime changes."""

from __future__ import annotations

import pytest

from scim_tui.simulator.config import FaultScope, Profile, SimulatorConfig, parse_latency


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50-150", (50.0, 150.0)),
        ("20", (20.0, 20.0)),
        (" 1.5-2.5 ", (1.5, 2.5)),
        (30, (30.0, 30.0)),
        ([10, 20], (10.0, 20.0)),
        (None, None),
        ("", None),
    ],
)
def test_parse_latency_accepts(text: object, expected: tuple[float, float] | None) -> None:
    assert parse_latency(text) == expected


@pytest.mark.parametrize("text", ["150-50", "-5", "a-b", "1-2-3", True, [1], {"min": 1}])
def test_parse_latency_rejects(text: object) -> None:
    with pytest.raises(ValueError, match="invalid latency"):
        parse_latency(text)


def test_genesys_defaults() -> None:
    config = SimulatorConfig()

    assert config.profile is Profile.GENESYS
    assert config.rate_limit_per_minute == 300
    assert config.max_list_count == 25
    assert config.token_lifetime == 86400
    assert config.client_id and config.client_secret


def test_generic_defaults() -> None:
    config = SimulatorConfig(profile="generic")  # type: ignore[arg-type]

    assert config.profile is Profile.GENERIC
    assert config.rate_limit_per_minute == 0
    assert config.max_list_count == 0
    assert config.bulk_max_operations == 100
    assert config.bearer_token is None


def test_generated_credentials_differ() -> None:
    assert SimulatorConfig().client_secret != SimulatorConfig().client_secret


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"p503_before": 1.5}, "between 0 and 1"),
        ({"p503_before": 0.6, "p_drop": 0.6}, "must not exceed 1"),
        ({"preload_count": 1, "preload_inactive": 2}, "cannot be larger"),
        ({"rate_limit_per_minute": -1}, "0 or more"),
        ({"token_lifetime": 0}, "greater than 0"),
        ({"bearer_token": ""}, "bearer_token"),
        ({"fault_scope": "sometimes"}, "sometimes"),
    ],
)
def test_invalid_settings_raise(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulatorConfig(**changes)  # type: ignore[arg-type]


def test_with_changes_coerces_json_values() -> None:
    config = SimulatorConfig().with_changes(
        {"p500_after": "0.25", "rate_limit_per_minute": 10.0, "latency_ms": "5-10", "fault_scope": "all", "seed": "4"}
    )

    assert config.p500_after == 0.25
    assert config.rate_limit_per_minute == 10
    assert config.latency_ms == (5.0, 10.0)
    assert config.fault_scope is FaultScope.ALL
    assert config.seed == 4


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"profile": "generic"}, "cannot change profile"),
        ({"client_secret": "x"}, "cannot change client_secret"),
        ({"rate_limit_per_minute": 2.5}, "whole number"),
        ({"p_drop": "often"}, "expected a number"),
        ({"conflict_scim_type": "yes"}, "true or false"),
    ],
)
def test_with_changes_rejects(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulatorConfig().with_changes(changes)


def test_with_changes_keeps_credentials() -> None:
    config = SimulatorConfig()

    changed = config.with_changes({"p503_before": 0.1})

    assert changed.client_id == config.client_id
    assert changed.client_secret == config.client_secret


def test_public_view_hides_secrets() -> None:
    config = SimulatorConfig(profile="generic", bearer_token="hidden-token")  # type: ignore[arg-type]

    view = config.public_view()

    assert "client_secret" not in view
    assert "bearer_token" not in view
    assert "hidden-token" not in repr(view)
    assert view["auth"] == "bearer"
    assert view["profile"] == "generic"
