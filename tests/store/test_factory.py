"""open_store follows the CALTRACE_* settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from acquisition.store import InfluxReadingStore, SQLiteReadingStore, open_store
from registry.settings import Settings


def test_default_is_the_sqlite_file_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALTRACE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CALTRACE_STORE", raising=False)
    with open_store(Settings()) as store:
        assert isinstance(store, SQLiteReadingStore)
        assert store.path == tmp_path / "var" / "readings.db"
    assert (tmp_path / "var" / "readings.db").exists()


def test_influx_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALTRACE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CALTRACE_STORE", "influx")
    monkeypatch.setenv("CALTRACE_INFLUX_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("CALTRACE_INFLUX_DATABASE", "tdc")
    monkeypatch.setenv("CALTRACE_INFLUX_API", "v1")
    with open_store(Settings()) as store:
        assert isinstance(store, InfluxReadingStore)
        assert (store.url, store.database, store.api) == ("http://127.0.0.1:9", "tdc", "v1")
    assert [p.name.startswith("influx-127-0-0-1-9-tdc-") for p in (tmp_path / "spool").iterdir()] == [True]


def test_a_bad_influx_url_is_refused_with_the_setting_name(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, store="influx", influx_url="127.0.0.1:8086")
    with pytest.raises(ValueError, match="CALTRACE_INFLUX_URL"):
        open_store(settings)
