"""The settings loader: PASOKH_ variables and the two unprefixed ones, types checked, errors naming the variable."""

from __future__ import annotations

import pytest

from callcenter.platform.errors import ConfigurationError, InvalidSetting
from callcenter.platform.settings import Settings, load_settings, variable_name


def test_given_the_unprefixed_database_and_redis_urls_when_loading_then_they_are_read_and_win_over_prefixed_ones(
) -> None:
    settings = load_settings({"DATABASE_URL": "postgresql://u@db/pasokh", "REDIS_URL": "redis://r:6379/0",
                              "PASOKH_DATABASE_URL": "postgresql://u@db/other", "PASOKH_REDIS_URL": "redis://x"})
    assert (settings.database_url, settings.redis_url) == ("postgresql://u@db/pasokh", "redis://r:6379/0")
    prefixed = load_settings({"PASOKH_DATABASE_URL": "postgresql://u@db/other"})
    assert prefixed.database_url == "postgresql://u@db/other"
    assert (variable_name("database_url"), variable_name("web_port")) == ("DATABASE_URL", "PASOKH_WEB_PORT")


def test_given_variables_as_text_when_loading_then_typed_and_explicit_values_win() -> None:
    settings = load_settings({"PASOKH_WEB_PORT": "8137", "PASOKH_SESSION_CHECK_SECONDS": "2.5",
                              "PASOKH_ROLE": "all", "DATABASE_URL": "sqlite:///a"}, database_url="sqlite:///b")
    assert (settings.web_port, settings.session_check_seconds, settings.database_url) == (8137, 2.5, "sqlite:///b")


def test_given_an_empty_variable_when_loading_then_it_counts_as_unset() -> None:
    settings = load_settings({"PASOKH_WEB_PORT": "", "REDIS_URL": "", "PASOKH_ENVIRONMENT": ""})
    assert (settings.web_port, settings.redis_url, settings.environment) == (8000, None, None)


@pytest.mark.parametrize(("variable", "value"), [
    ("PASOKH_WEB_WORKERS", "many"), ("PASOKH_WEB_WORKERS", "33"), ("PASOKH_ROLE", "telephony"),
    ("PASOKH_WEB_PORT", "70000"), ("PASOKH_SESSION_IDLE_SECONDS", "10"), ("PASOKH_ENVIRONMENT", "staging"),
])
def test_given_a_value_of_the_wrong_type_or_range_when_loading_then_a_configuration_error_naming_it(
    variable: str, value: str,
) -> None:
    with pytest.raises(InvalidSetting, match=variable) as refused:
        load_settings({variable: value})
    assert isinstance(refused.value, ConfigurationError) and refused.value.error_id == "invalid-setting"


def test_given_a_bad_secret_when_refused_then_the_message_does_not_repeat_it() -> None:
    with pytest.raises(InvalidSetting, match="PASOKH_AGI_SECRET") as refused:
        load_settings({"PASOKH_AGI_HOST": "0.0.0.0", "PASOKH_AGI_SECRET": "leaked;secret"})
    assert "leaked" not in str(refused.value)


def test_given_no_environment_mapping_when_loading_then_the_process_environment_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PASOKH_AGENT_RING_SECONDS", "22")
    assert load_settings().agent_ring_seconds == 22
    assert load_settings({}).agent_ring_seconds == 15  # a given mapping replaces the process environment
    assert Settings().agent_ring_seconds == 22
