"""Settings: every value checked (range, finiteness, keymap ids), with one line naming it and its origin."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import adsdash.screens
import adsdash.widgets
from adsdash.binding_ids import BINDING_IDS
from adsdash.config import ConfigError, load_settings


def settings(tmp_path, toml: str = "", *, flags=None, **environ):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(toml)
    return load_settings(flags, config_file=cfg, environ=environ)


def refusal(tmp_path, toml: str = "", *, flags=None, **environ) -> str:
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, toml, flags=flags, **environ)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("env", "value", "name", "allowed"),
    [
        ("ADSDASH_REFRESH", "nan", "refresh_seconds", "0.2 to 3600"),
        ("ADSDASH_REFRESH", "inf", "refresh_seconds", "0.2 to 3600"),
        ("ADSDASH_REFRESH", "-inf", "refresh_seconds", "0.2 to 3600"),
        ("ADSDASH_REFRESH", "1e999", "refresh_seconds", "0.2 to 3600"),
        ("ADSDASH_REFRESH", "0.1", "refresh_seconds", "0.2 to 3600"),
        ("ADSDASH_REFRESH", "3601", "refresh_seconds", "0.2 to 3600"),
        ("ADSDASH_REFRESH", "fast", "refresh_seconds", "0.2 to 3600"),
        ("ADSDASH_CANCEL_GRACE", "inf", "cancel_grace_seconds", "0 to 300"),
        ("ADSDASH_CANCEL_GRACE", "nan", "cancel_grace_seconds", "0 to 300"),
        ("ADSDASH_CANCEL_GRACE", "-1", "cancel_grace_seconds", "0 to 300"),
        ("ADSDASH_CANCEL_GRACE", "301", "cancel_grace_seconds", "0 to 300"),
        ("ADSDASH_WORKERS", "0", "workers", "1 to 32"),
        ("ADSDASH_WORKERS", "33", "workers", "1 to 32"),
        ("ADSDASH_WORKERS", "2.5", "workers", "1 to 32"),
        ("ADSDASH_WORKERS", "1e1", "workers", "1 to 32"),
        ("ADSDASH_WORKERS", "inf", "workers", "1 to 32"),
        ("ADSDASH_WORKERS", "1e999", "workers", "1 to 32"),
        ("ADSDASH_LATE_AFTER_DAYS", "0", "late_after_days", "1 to 3650"),
        ("ADSDASH_STALE_AFTER_DAYS", "3651", "stale_after_days", "1 to 3650"),
        ("ADSDASH_STALE_AFTER_DAYS", "nan", "stale_after_days", "1 to 3650"),
    ],
)
def test_a_bad_number_from_the_environment_is_refused_naming_setting_origin_and_range(
        tmp_path, env, value, name, allowed):
    message = refusal(tmp_path, **{env: value})
    assert message.startswith(f"{name} from env {env}:") and allowed in message and repr(value) in message


@pytest.mark.parametrize(
    ("toml", "name"),
    [
        ("refresh_seconds = nan", "refresh_seconds"),
        ("refresh_seconds = inf", "refresh_seconds"),
        ("cancel_grace_seconds = inf", "cancel_grace_seconds"),
        ("workers = inf", "workers"),
        ("workers = 2.5", "workers"),
        ("workers = true", "workers"),
        ("workers = 99999999999999", "workers"),
        ('workers = "many"', "workers"),
        ("late_after_days = [1]", "late_after_days"),
        ('home = ""', "home"),
        ('cli_command = "  "', "cli_command"),
        ('ads_sync_path = "a\\u0000b"', "ads_sync_path"),
    ],
)
def test_a_bad_value_in_the_file_is_refused_naming_the_file(tmp_path, toml, name):
    message = refusal(tmp_path, toml)
    assert message.startswith(f"{name} from file {tmp_path / 'cfg.toml'}:")


def test_a_bad_flag_is_refused_naming_the_flag(tmp_path):
    assert refusal(tmp_path, flags={"workers": 40}).startswith("workers from flag --workers:")


def test_late_must_come_before_stale(tmp_path):
    message = refusal(tmp_path, "late_after_days = 5", ADSDASH_STALE_AFTER_DAYS="5")
    assert "late_after_days (5, from file" in message and "stale_after_days (5, from env" in message


def test_values_at_the_edges_are_accepted(tmp_path):
    s = settings(tmp_path, "workers = 32\nlate_after_days = 3649\n", ADSDASH_REFRESH="0.2",
                 ADSDASH_CANCEL_GRACE="0", ADSDASH_STALE_AFTER_DAYS="3650")
    assert (s.workers, s.refresh_seconds, s.cancel_grace_seconds, s.stale_after_days) == (32, 0.2, 0.0, 3650)
    assert settings(tmp_path, "refresh_seconds = 3600", ADSDASH_CANCEL_GRACE="300").cancel_grace_seconds == 300


# -- keymap ------------------------------------------------------------------

def test_an_unknown_keymap_id_is_refused_naming_the_valid_ones(tmp_path):
    message = refusal(tmp_path, '[keymap]\n"clients.apend" = "A"\n')
    assert "'clients.apend'" in message and "did you mean clients.append?" in message
    assert "clients.{append," in message and "dialog.{cancel,confirm}" in message
    for screen in {binding.split(".")[0] for binding in BINDING_IDS}:
        assert f"{screen}.{{" in message


@pytest.mark.parametrize("value", ['""', '"  "', "3", "true", '["a"]'])
def test_a_keymap_value_must_be_a_key_string(tmp_path, value):
    message = refusal(tmp_path, f'[keymap]\n"clients.append" = {value}\n')
    assert "clients.append needs a key" in message


def test_a_keymap_that_is_not_a_table_is_refused(tmp_path):
    assert "[keymap]" in refusal(tmp_path, 'keymap = "a"\n')


def test_a_keymap_id_written_without_quotes_is_read_as_the_id(tmp_path):
    s = settings(tmp_path, "[keymap]\nclients.append = \"A\"\n")
    assert s.keymap == {"clients.append": "A"}


def test_describe_lists_every_binding_with_its_key_and_origin(tmp_path):
    s = settings(tmp_path, '[keymap]\n"clients.append" = "A"\n')
    rows = {name: (value, origin) for name, value, origin in s.describe()}
    assert rows["keymap.clients.append"] == ("A", f"file {tmp_path / 'cfg.toml'}")
    assert rows["keymap.clients.validate"] == ("v", "default")
    assert {n for n in rows if n.startswith("keymap.")} == {f"keymap.{b}" for b in BINDING_IDS}


def _bindings_in_the_ui() -> dict[str, set[str]]:
    """binding id -> every key bound to it, from the BINDINGS of every class in the UI modules."""
    modules = [importlib.import_module("adsdash.app")]
    for package in (adsdash.screens, adsdash.widgets):
        modules += [importlib.import_module(f"{package.__name__}.{m.name}")
                    for m in pkgutil.iter_modules(package.__path__)]
    found: dict[str, set[str]] = {}
    for module in modules:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for binding in cls.__dict__.get("BINDINGS", []):
                binding_id = getattr(binding, "id", None)
                if binding_id:
                    found.setdefault(binding_id, set()).update(k.strip() for k in binding.key.split(","))
    return found


def test_binding_ids_match_the_bindings_of_the_app():
    found = _bindings_in_the_ui()
    assert len(found) > 30
    listed = {binding: {k.strip() for k in keys.split(",")} for binding, keys in BINDING_IDS.items()}
    assert listed == found
