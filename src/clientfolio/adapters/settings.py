"""Reading a vault's configuration and taxonomy files from its home folder."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clientfolio.domain.credentials import AuthSettings, auth_settings_from_config
from clientfolio.domain.errors import InvalidInput
from clientfolio.domain.naming import DEFAULT_TEMPLATE, validate_template
from clientfolio.domain.requirements import Requirement, requirements_from_dict
from clientfolio.domain.taxonomy import Taxonomy, merge_taxonomies, taxonomy_from_dict

DEFAULT_TAXONOMY = Path(__file__).resolve().parent.parent / "data" / "taxonomy.toml"
DEFAULT_REQUIREMENTS = DEFAULT_TAXONOMY.with_name("requirements.toml")
CONFIG_NAME = "config.toml"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    key_file: Path
    naming_template: str
    max_upload_bytes: int
    redis_url: str | None = None  # background jobs in Redis; default a SQLite queue in the home (jobs.db)
    auto_file_threshold: float = 0.85  # ingestion files under a suggested category at or above this confidence
    auth: AuthSettings = field(default_factory=AuthSettings)  # [auth]: sessions, lock-out, second factor roles
    time_zone: str = "Asia/Shanghai"  # how the pages show times; everything is stored in UTC

    @property
    def blob_root(self) -> Path:
        return self.home / "blobs"


def default_home() -> Path:
    return Path(os.environ.get("CLIENTFOLIO_HOME") or "clientfolio-data")


def read_settings(home: Path) -> Settings:
    home = home.resolve()
    config = _read_toml(home / CONFIG_NAME) if (home / CONFIG_NAME).exists() else {}
    url = (os.environ.get("CLIENTFOLIO_DATABASE_URL") or config.get("database_url")
           or f"sqlite:///{home / 'clientfolio.db'}")
    template = config.get("naming_template", DEFAULT_TEMPLATE)
    validate_template(template)
    max_mb = config.get("max_upload_mb", 2048)
    if not isinstance(max_mb, int) or max_mb < 1:
        raise InvalidInput(f"{CONFIG_NAME}: max_upload_mb must be a positive whole number")
    key_file = Path(config.get("key_file") or home / "master.key")
    redis_url = os.environ.get("CLIENTFOLIO_REDIS_URL") or config.get("redis_url") or None
    threshold = config.get("auto_file_threshold", 0.85)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise InvalidInput(f"{CONFIG_NAME}: auto_file_threshold must be a number between 0 and 1")
    auth = config.get("auth", {})
    if not isinstance(auth, dict):
        raise InvalidInput(f"{CONFIG_NAME}: auth must be a table ([auth])")
    zone = config.get("time_zone", "Asia/Shanghai")
    try:
        ZoneInfo(zone)
    except (ValueError, TypeError, ZoneInfoNotFoundError):
        raise InvalidInput(f"{CONFIG_NAME}: time_zone must be an IANA zone such as Asia/Shanghai") from None
    return Settings(home=home, database_url=url, key_file=key_file, naming_template=template,
                    max_upload_bytes=max_mb * 1024 * 1024, redis_url=redis_url, auto_file_threshold=float(threshold),
                    auth=auth_settings_from_config(auth), time_zone=zone)


def write_config(home: Path, values: dict) -> None:
    """A small flat TOML file; values are plain strings and numbers."""
    lines = [f"# Clientfolio vault settings. See README: Configuration.\n"]
    for key, value in values.items():
        rendered = str(value) if isinstance(value, int) else '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines.append(f"{key} = {rendered}\n")
    path = home / CONFIG_NAME
    path.write_text("".join(lines), encoding="utf-8")
    path.chmod(0o600)


def load_taxonomy(home: Path) -> Taxonomy:
    data = _read_toml(DEFAULT_TAXONOMY)
    extension = home / "taxonomy.toml"
    if extension.exists():
        data = merge_taxonomies(data, _read_toml(extension))
    return taxonomy_from_dict(data)


def load_requirements(home: Path, taxonomy: Taxonomy) -> tuple[Requirement, ...]:
    """The vault's own requirements.toml when there is one, else the default list."""
    own = home / "requirements.toml"
    return requirements_from_dict(_read_toml(own if own.exists() else DEFAULT_REQUIREMENTS), taxonomy)


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path.name} is not valid TOML: {exc}") from None
