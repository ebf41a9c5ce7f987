"""The runtime pieces: settings from the environment, compose and Procfile commands that
really exist, the web app answering, and a real Celery worker answering a ping."""

import os
import secrets
import shlex
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured
from django.core.management import get_commands

from jukinet.env import env_bool, env_int, env_str

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def _assert_command_exists(argv: list[str]) -> None:
    program = Path(argv[0]).name
    if program in {"python", "python3"}:
        assert argv[1] == "manage.py", argv
        assert (ROOT / "manage.py").exists()
        assert argv[2] in get_commands(), f"no management command {argv[2]}"
    elif program == "gunicorn":
        assert (VENV_BIN / "gunicorn").exists()
        module, _, attr = argv[1].partition(":")
        assert hasattr(import_module(module), attr or "application")
    elif program == "celery":
        assert (VENV_BIN / "celery").exists()
        assert argv[1] == "-A"
        assert import_module(argv[2]).celery_app is not None
        assert argv[3] in {"worker", "beat"}
    else:
        raise AssertionError(f"unknown program in a service command: {argv}")


def test_every_compose_service_runs_a_command_that_exists():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name, service in services.items():
        if "image" in service and "build" not in service:
            assert "healthcheck" in service, name
            continue
        command = service["command"]
        _assert_command_exists(command if isinstance(command, list) else shlex.split(command))


def test_compose_keeps_secrets_out_of_the_file():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    compose = yaml.safe_load(text)
    env = compose["services"]["web"]["environment"]
    assert "DJANGO_SECRET_KEY" not in env and "DJANGO_SECRET_KEY_FILE" in env
    assert "JUKINET_FIELD_KEYS" not in env and "JUKINET_FIELD_KEYS_FILE" in env


def test_every_procfile_process_runs_a_command_that_exists():
    lines = [ln for ln in (ROOT / "Procfile").read_text().splitlines() if ln.strip()]
    names = {ln.split(":", 1)[0] for ln in lines}
    assert {"web", "worker", "beat"} <= names
    for line in lines:
        argv = shlex.split(line.split(":", 1)[1])
        argv[0] = Path(argv[0]).name
        _assert_command_exists(argv)


@pytest.mark.django_db
def test_the_web_app_answers_in_japanese(client, staff_client):
    assert client.get("/healthz").json() == {"status": "ok"}
    response = staff_client("gyomu").get("/")
    assert response.status_code == 200
    assert "住基ネット" in response.content.decode()
    assert 'lang="ja"' in response.content.decode()


def test_pages_load_no_asset_from_the_internet():
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, template


def test_a_real_celery_worker_answers(celery_worker_process):
    from jukinet.tasks import ping

    assert ping.delay().get(timeout=30) == "pong"


def test_env_helpers_fail_loudly_on_bad_values(monkeypatch, tmp_path):
    monkeypatch.setenv("JUKINET_X_INT", "twelve")
    with pytest.raises(ImproperlyConfigured, match="integer"):
        env_int("JUKINET_X_INT")
    monkeypatch.setenv("JUKINET_X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="boolean"):
        env_bool("JUKINET_X_BOOL")
    with pytest.raises(ImproperlyConfigured, match="required"):
        env_str("JUKINET_X_ABSENT")
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("JUKINET_X_SECRET_FILE", str(secret))
    assert env_str("JUKINET_X_SECRET") == "from-a-file"


def _run_django(args: list[str], **env) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JUKINET_"))}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = _run_django(["check"], JUKINET_MODE="production", DJANGO_SETTINGS_MODULE="jukinet.settings")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = _run_django(
        ["check", "--deploy", "--fail-level", "WARNING"],
        JUKINET_MODE="production",
        DJANGO_SETTINGS_MODULE="jukinet.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="jukinet.example.lg.jp",
    )
    assert result.returncode == 0, result.stderr


def test_there_is_no_generic_admin_to_browse_personal_data():
    # Reads of personal data go through logged staff pages only; the Django admin is not installed.
    from django.conf import settings

    assert "django.contrib.admin" not in settings.INSTALLED_APPS
