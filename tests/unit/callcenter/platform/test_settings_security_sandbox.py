"""Settings from the environment, password checks, and the Debian mirror lookup."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import argon2
import pytest

from callcenter.platform import security
from callcenter.platform.errors import AsteriskSandboxError, ConfigurationError
from callcenter.platform.security import hash_password, new_sip_password, verify_password
from callcenter.platform.settings import load_settings
from callcenter.telephony.asterisk_sandbox import debian_mirror


def test_given_production_with_the_default_secret_key_when_loading_settings_then_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        load_settings({"PASOKH_ENVIRONMENT": "production", "PASOKH_AMI_SECRET": "real-ami-secret"})


def test_given_production_with_the_default_ami_secret_when_loading_settings_then_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        load_settings({"PASOKH_ENVIRONMENT": "production", "PASOKH_SECRET_KEY": "a-real-secret"})


PRODUCTION_SECRETS = {"PASOKH_ENVIRONMENT": "production", "PASOKH_SECRET_KEY": "a-real-secret",
                      "PASOKH_AMI_SECRET": "ami-real",
                      "PASOKH_COMPLAINT_IDENTITY_KEYS": "fdp3Xw3o0h9bKk3ZlG8uS1Yk7w9JrQm2cV4nL6tP8aE="}


def test_given_production_with_every_secret_set_when_loading_settings_then_they_are_accepted() -> None:
    settings = load_settings(PRODUCTION_SECRETS)
    assert settings.environment == "production"
    assert settings.secret_key == "a-real-secret"


def test_given_production_without_complaint_identity_keys_when_loading_settings_then_refused() -> None:
    with pytest.raises(ConfigurationError, match="PASOKH_COMPLAINT_IDENTITY_KEYS"):
        load_settings({**PRODUCTION_SECRETS, "PASOKH_COMPLAINT_IDENTITY_KEYS": ""})


def test_given_unprefixed_database_and_redis_urls_when_loading_settings_then_they_are_used() -> None:
    settings = load_settings({"DATABASE_URL": "postgresql://u@db:5432/pasokh", "REDIS_URL": "redis://cache:6379/0"})
    assert settings.database_url == "postgresql://u@db:5432/pasokh"
    assert settings.redis_url == "redis://cache:6379/0"
    assert not settings.is_sqlite


def test_given_prefixed_variables_when_loading_settings_then_they_are_read_and_coerced() -> None:
    settings = load_settings({"PASOKH_AGI_PORT": "4999", "PASOKH_MAX_INBOUND_CALLS": "7"})
    assert settings.agi_port == 4999
    assert settings.max_inbound_calls == 7


def test_given_no_database_url_when_loading_settings_then_sqlite_under_the_state_dir_is_used(tmp_path: Path) -> None:
    settings = load_settings({"PASOKH_STATE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'pasokh.sqlite3'}"
    assert settings.is_sqlite


def test_given_an_explicit_override_when_loading_settings_then_it_wins_over_the_environment() -> None:
    settings = load_settings({"PASOKH_WEB_PORT": "9000"}, web_port=9100)
    assert settings.web_port == 9100


@pytest.mark.parametrize("environ", [{"PASOKH_ROLE": "web"}, {"PASOKH_WEB_WORKERS": "4"}])
def test_given_several_web_workers_without_redis_when_loading_settings_then_configuration_error(
    environ: dict[str, str],
) -> None:
    with pytest.raises(ConfigurationError, match="REDIS_URL"):
        load_settings(environ=environ)


def test_given_several_web_workers_with_redis_when_loading_settings_then_accepted() -> None:
    settings = load_settings(environ={"PASOKH_WEB_WORKERS": "4", "REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert (settings.web_workers, settings.role) == (4, "all")


def test_given_an_unknown_user_without_hash_when_verifying_a_password_then_it_fails() -> None:
    assert verify_password("anything", None) is False


def test_given_an_unknown_user_when_verifying_the_dummy_password_itself_then_it_still_fails() -> None:
    assert verify_password("pasokh-dummy-password-never-matches", None) is False


def test_given_a_stored_hash_when_verifying_the_right_and_a_wrong_password_then_only_the_right_one_passes() -> None:
    stored = hash_password("درست-رمز")
    assert verify_password("درست-رمز", stored) is True
    assert verify_password("wrong", stored) is False


def test_given_the_module_as_production_imports_it_then_passwords_are_hashed_with_argon2id_64mib_3_passes() -> None:
    # The suite runs on a cheap hasher (tests/support/argon2_cost.py); a fresh copy of the module is what
    # production runs, untouched by it.
    spec = importlib.util.spec_from_file_location("production_security", security.__file__)
    assert spec is not None and spec.loader is not None
    production = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(production)
    assert production.PASSWORD_HASHING == argon2.profiles.RFC_9106_LOW_MEMORY
    assert production.hash_password("درست-رمز").startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert hash_password("درست-رمز").startswith("$argon2id$v=19$m=8,t=1,p=1$")  # this suite's own, cheap one


def test_given_a_corrupt_hash_when_verifying_then_it_fails_without_raising() -> None:
    assert verify_password("x", "not-an-argon2-hash") is False


def test_given_a_new_sip_password_when_inspecting_it_then_it_is_alphanumeric_of_the_asked_length() -> None:
    password = new_sip_password(24)
    assert len(password) == 24
    assert password.isalnum() and password.isascii()


def test_given_a_deb822_sources_file_when_finding_the_mirror_then_its_uri_is_returned(tmp_path: Path) -> None:
    sources = tmp_path / "debian.sources"
    sources.write_text(
        "Types: deb\nURIs: http://mirror.example.ir/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    assert debian_mirror((sources,)) == "http://mirror.example.ir/debian"


def test_given_a_classic_sources_list_with_options_when_finding_the_mirror_then_its_uri_is_returned(
    tmp_path: Path,
) -> None:
    sources = tmp_path / "sources.list"
    sources.write_text(
        "# deb http://old.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://deb.example.org/debian bookworm main\n"
    )
    assert debian_mirror((sources,)) == "http://deb.example.org/debian"


def test_given_the_first_sources_file_missing_when_finding_the_mirror_then_the_next_one_is_used(
    tmp_path: Path,
) -> None:
    classic = tmp_path / "sources.list"
    classic.write_text("deb http://deb.debian.org/debian sid main\n")
    assert debian_mirror((tmp_path / "missing.sources", classic)) == "http://deb.debian.org/debian"


def test_given_no_usable_sources_when_finding_the_mirror_then_a_sandbox_error_is_raised(tmp_path: Path) -> None:
    commented = tmp_path / "sources.list"
    commented.write_text("# deb http://deb.debian.org/debian sid main\n")
    with pytest.raises(AsteriskSandboxError):
        debian_mirror((tmp_path / "missing.sources", commented))
