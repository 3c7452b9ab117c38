"""Settings, read once from the environment (and an optional `.env` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    @field_validator("database_url")
    @classmethod
    def _use_psycopg3(cls, value: str) -> str:
        # Plain postgresql:// URLs would pick psycopg2, which we do not ship.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

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
