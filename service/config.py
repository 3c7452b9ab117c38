"""Settings, read once from the environment (and an optional `.env` file)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-in-production"


class Settings(BaseSettings):
    """Every setting of the service; the README has a table of them."""

    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    database_url: str = Field(default_factory=lambda: f"sqlite:///{Path.cwd() / 'coffeerounds.db'}")
    base_url: str = "http://127.0.0.1:8000"

    email_backend: Literal["file", "smtp"] = "file"
    email_file_dir: Path = Path("outbox")
    mail_from: str = "coffee@coffeerounds.localhost"
    mail_from_name: str = "Coffee Rounds"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout: float = 30.0
    smtp_ca_file: Path | None = None

    confirm_link_hours: int = Field(default=72, ge=1, le=24 * 30)
    manage_link_hours: int = Field(default=72, ge=1, le=24 * 30)
    docs_enabled: bool = True
    log_level: str = "INFO"

    # How often the scheduler's periodic jobs run (seconds); the defaults suit production,
    # the tests shorten them to watch many periods in a few seconds.
    outbox_interval_seconds: int = Field(default=60, ge=1, le=3600)
    followups_interval_seconds: int = Field(default=15 * 60, ge=1, le=24 * 3600)
    round_sync_interval_seconds: int = Field(default=5 * 60, ge=1, le=24 * 3600)

    # Each web worker fits the introduction ranker of its biggest organizations at start, so
    # no search waits for that (about 0.2 s per 10,000 participants).
    introductions_warm_up: bool = True

    # 0 turns a limit off. Signup, "email me my link" and password-reset emails to one
    # address per hour (extra requests get the usual answer, but no email).
    rate_limit_signups_per_email_per_hour: int = Field(default=3, ge=0, le=1000)
    # Signup, link and sign-in form posts per client address (per web worker) per minute.
    rate_limit_requests_per_client_per_minute: int = Field(default=20, ge=0, le=10_000)
    # Reverse proxies whose X-Forwarded-For is believed (IPs or CIDRs, comma-separated).
    # Empty: nobody is trusted and the client is the address that opened the connection.
    trusted_proxies: Annotated[list[str], NoDecode] = []

    @field_validator("database_url")
    @classmethod
    def _use_psycopg3(cls, value: str) -> str:
        # Plain postgresql:// URLs would pick psycopg2, which we do not ship.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        # A typo would otherwise silently trust nobody (or, worse, the wrong network).
        cleaned = []
        for entry in value:
            try:
                if "/" in entry:
                    cleaned.append(str(ipaddress.ip_network(entry, strict=False)))
                else:
                    cleaned.append(str(ipaddress.ip_address(entry)))
            except ValueError:
                raise ValueError(
                    f"TRUSTED_PROXIES: {entry[:60]!r} is not an IP address or network "
                    "(examples: 10.0.0.5, 10.0.0.0/8, fd00::/8)"
                ) from None
        return cleaned

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment != "development" and (
            self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY
            or len(self.secret_key.get_secret_value()) < 16
        ):
            raise ValueError(
                "SECRET_KEY must be set to a random value of at least 16 characters outside "
                "development (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
