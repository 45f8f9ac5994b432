"""cors_config_from_env: the CORS_* variables ServerlessApi sets, as a Powertools CORSConfig."""

from __future__ import annotations

import pytest

from constructs_lib.runtime.cors import cors_config_from_env

ORIGINS = "https://app.example.com, https://admin.example.com"


@pytest.fixture
def cors_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("CORS_ALLOW_ORIGINS", "CORS_ALLOW_HEADERS", "CORS_ALLOW_CREDENTIALS", "CORS_MAX_AGE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_variable_reaches_the_config(cors_env: pytest.MonkeyPatch) -> None:
    cors_env.setenv("CORS_ALLOW_ORIGINS", ORIGINS)
    cors_env.setenv("CORS_ALLOW_HEADERS", "X-Request-Id, X-Trace")
    cors_env.setenv("CORS_ALLOW_CREDENTIALS", "true")
    cors_env.setenv("CORS_MAX_AGE", "600")
    headers = cors_config_from_env().to_dict("https://admin.example.com")
    assert headers["Access-Control-Allow-Origin"] == "https://admin.example.com"
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert headers["Access-Control-Max-Age"] == "600"
    assert {"X-Request-Id", "X-Trace", "Authorization", "Content-Type"} <= set(
        headers["Access-Control-Allow-Headers"].split(",")
    )


def test_an_echoed_origin_varies_by_origin(cors_env: pytest.MonkeyPatch) -> None:
    cors_env.setenv("CORS_ALLOW_ORIGINS", ORIGINS)
    assert cors_config_from_env().to_dict("https://app.example.com")["Vary"] == "Origin"


def test_any_origin_answers_the_same_to_all(cors_env: pytest.MonkeyPatch) -> None:
    cors_env.setenv("CORS_ALLOW_ORIGINS", "*")
    config = cors_config_from_env()
    assert "Vary" not in config.to_dict(config.allowed_origin("https://any.example") or "")


def test_an_unlisted_origin_gets_no_headers(cors_env: pytest.MonkeyPatch) -> None:
    cors_env.setenv("CORS_ALLOW_ORIGINS", ORIGINS)
    assert cors_config_from_env().to_dict("https://evil.example") == {}


def test_defaults_are_no_credentials_and_no_max_age(cors_env: pytest.MonkeyPatch) -> None:
    cors_env.setenv("CORS_ALLOW_ORIGINS", "*")
    config = cors_config_from_env()
    headers = config.to_dict(config.allowed_origin("https://any.example") or "")
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in headers
    assert "Access-Control-Max-Age" not in headers


def test_missing_origins_is_an_error(cors_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        ValueError, match=r"^CORS_ALLOW_ORIGINS is not set: give comma-separated origins or '\*'$"
    ):
        cors_config_from_env()


def test_credentials_must_be_true_or_false(cors_env: pytest.MonkeyPatch) -> None:
    cors_env.setenv("CORS_ALLOW_ORIGINS", ORIGINS)
    cors_env.setenv("CORS_ALLOW_CREDENTIALS", "yes")
    with pytest.raises(ValueError, match=r"^CORS_ALLOW_CREDENTIALS is 'yes': use 'true' or 'false'$"):
        cors_config_from_env()


def test_credentials_with_any_origin_is_an_error(cors_env: pytest.MonkeyPatch) -> None:
    cors_env.setenv("CORS_ALLOW_ORIGINS", "*")
    cors_env.setenv("CORS_ALLOW_CREDENTIALS", "TRUE")
    with pytest.raises(ValueError, match=r"CORS_ALLOW_CREDENTIALS is 'true' with origin '\*'"):
        cors_config_from_env()


def test_max_age_must_be_whole_seconds(cors_env: pytest.MonkeyPatch) -> None:
    cors_env.setenv("CORS_ALLOW_ORIGINS", ORIGINS)
    cors_env.setenv("CORS_MAX_AGE", "10m")
    with pytest.raises(ValueError, match=r"^CORS_MAX_AGE is '10m': use a whole number of seconds$"):
        cors_config_from_env()


def test_every_problem_is_reported_at_once(cors_env: pytest.MonkeyPatch) -> None:
    cors_env.setenv("CORS_ALLOW_CREDENTIALS", "maybe")
    cors_env.setenv("CORS_MAX_AGE", "-1")
    with pytest.raises(ValueError) as raised:
        cors_config_from_env()
    assert str(raised.value).count(";") == 2
