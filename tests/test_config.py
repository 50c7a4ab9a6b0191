import os
import stat

import pytest

from config import ConfigError, check_required, load_settings
from mda import create_app


def test_production_refuses_to_start_naming_every_missing_setting():
    with pytest.raises(ConfigError) as info:
        create_app(
            {
                "ENV_NAME": "production",
                "SECRET_KEY": None,
                "PSEUDONYM_KEY": None,
                "DATABASE_URL": None,
                "BROKER_URL": None,
            }
        )
    message = str(info.value)
    for name in ("MDA_SECRET_KEY", "MDA_PSEUDONYM_KEY", "MDA_DATABASE_URL", "MDA_BROKER_URL"):
        assert name in message


def test_production_names_only_what_is_missing():
    settings = load_settings(
        environ={
            "MDA_ENV": "production",
            "MDA_SECRET_KEY": "s" * 40,
            "MDA_DATABASE_URL": "sqlite://",
        }
    )
    with pytest.raises(ConfigError) as info:
        check_required(settings)
    assert "MDA_PSEUDONYM_KEY" in str(info.value)
    assert "MDA_SECRET_KEY" not in str(info.value)


def test_production_starts_with_everything_given():
    settings = load_settings(
        environ={
            "MDA_ENV": "production",
            "MDA_SECRET_KEY": "s" * 40,
            "MDA_PSEUDONYM_KEY": "p" * 40,
            "MDA_DATABASE_URL": "sqlite://",
            "MDA_BROKER_URL": "redis://localhost:6379/0",
        }
    )
    check_required(settings)
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["REQUIRE_SECOND_FACTOR"] is True


@pytest.mark.parametrize("broker", [None, ""])
def test_production_refuses_to_start_without_a_broker(tmp_path, monkeypatch, broker):
    # Celery would otherwise fall back to an in-process "memory://" broker: reminders and
    # escalations would be sent to no worker at all, silently.
    for key in list(os.environ):
        if key.startswith("MDA_"):
            monkeypatch.delenv(key)
    if broker is not None:
        monkeypatch.setenv("MDA_BROKER_URL", broker)
    everything_else = {
        "MDA_ENV": "production",
        "MDA_SECRET_KEY": "s" * 40,
        "MDA_PSEUDONYM_KEY": "p" * 40,
        "MDA_DATABASE_URL": "sqlite://",
        "MDA_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    for key, value in everything_else.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as info:
        create_app()
    message = str(info.value)
    assert "production refuses to start" in message
    assert "MDA_BROKER_URL" in message
    for name in ("MDA_SECRET_KEY", "MDA_PSEUDONYM_KEY", "MDA_DATABASE_URL"):
        assert name not in message
    # The result backend may stay unset: nothing reads a task's result.
    monkeypatch.setenv("MDA_BROKER_URL", "redis://localhost:6379/0")
    app = create_app()
    assert app.extensions["celery"].conf.broker_url == "redis://localhost:6379/0"


def test_environment_overrides_are_typed():
    settings = load_settings(
        environ={
            "MDA_IDLE_TIMEOUT_MINUTES": "12",
            "MDA_REQUIRE_SECOND_FACTOR": "yes",
            "MDA_LANGUAGES": "nl, en",
        }
    )
    assert settings["IDLE_TIMEOUT_MINUTES"] == 12
    assert settings["REQUIRE_SECOND_FACTOR"] is True
    assert settings["LANGUAGES"] == ("nl", "en")


def test_bad_environment_values_say_what_is_wrong():
    with pytest.raises(ConfigError, match="MDA_IDLE_TIMEOUT_MINUTES must be a whole number"):
        load_settings(environ={"MDA_IDLE_TIMEOUT_MINUTES": "soon"})
    with pytest.raises(ConfigError, match="MDA_ENV='prod' is not a known environment"):
        load_settings(environ={"MDA_ENV": "prod"})


def test_embedded_default_keeps_generated_secrets_in_the_instance_folder(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("MDA_"):
            monkeypatch.delenv(key)
    instance = tmp_path / "instance"
    first = create_app({"INSTANCE_PATH": str(instance), "AUTO_UPGRADE": False})
    second = create_app({"INSTANCE_PATH": str(instance), "AUTO_UPGRADE": False})
    assert first.config["ENV_NAME"] == "embedded"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert first.config["PSEUDONYM_KEY"] == second.config["PSEUDONYM_KEY"]
    assert first.config["SECRET_KEY"] != first.config["PSEUDONYM_KEY"]
    for name in ("secret_key", "pseudonym_key"):
        mode = stat.S_IMODE((instance / name).stat().st_mode)
        assert mode == 0o600, f"{name} is readable by others ({oct(mode)})"
    assert first.config["DATABASE_URL"] == f"sqlite:///{instance / 'mda.sqlite'}"
    assert first.config["BROKER_URL"].startswith("sqla+sqlite:///")
