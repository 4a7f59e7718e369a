"""Platform settings, read from OPENPSS_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "openpss-development-secret-change-me"
# Commands the MQTT bridge may accept: a momentary unlock (HA lock OPEN), and the door mode
# (always open / always closed / restore: HA lock LOCK and UNLOCK).
# A door station's call is hung up over DHIP (console.runCmd "hc").
MqttCommand = Literal["unlock", "door_mode", "hangup"]


def _default_mqtt_commands() -> list[MqttCommand]:
    return ["door_mode", "hangup"]  # unlock over MQTT is opt-in


class Settings(BaseSettings):
    """Configuration of the platform server; every field maps to OPENPSS_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="OPENPSS_", extra="forbid")

    environment: Literal["development", "production", "test"] = Field(
        "production", description="development allows the built-in secret; production refuses it"
    )
    data_dir: Path = Field(
        Path("var"), description="directory for the SQLite file, uploads, exports"
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/openpss.db. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    http_host: str = Field("127.0.0.1", description="address the web console and API listen on")
    http_port: int = Field(8080, ge=1, le=65535, description="port of the web console and API")
    secret_key: str = Field(
        DEVELOPMENT_SECRET,
        min_length=16,
        description="signs session cookies and CSRF tokens, and derives the key that "
        "encrypts stored device passwords",
    )
    lockout_attempts: int = Field(5, ge=1, le=100, description="failed logins before a lock")
    lockout_minutes: int = Field(
        30, ge=1, le=1440, description="how long an account and source IP stay locked"
    )
    password_max_age_days: int = Field(
        0,
        ge=0,
        le=3650,
        description="'change passwords regularly': days after which a user must choose a new "
        "password at login (0 = never)",
    )
    session_hours: int = Field(8, ge=1, le=720, description="console session lifetime")
    remember_me_days: int = Field(30, ge=1, le=365, description="lifetime with 'remember me'")
    syslog_address: str | None = Field(
        None, description="host:port of a syslog server (UDP) that receives audit events"
    )
    device_poll_seconds: float = Field(
        30.0, gt=0, description="interval of device online checks and record pulls"
    )
    sip_enabled: bool = Field(
        True, description="run the platform's SIP server (registrar + B2BUA) with the server"
    )
    sip_host: str | None = Field(
        None, description="address the SIP server listens on (UDP+TCP); default: http_host"
    )
    sip_port: int = Field(
        5080,
        ge=0,
        le=65535,
        description="SIP port; 5080 is what door stations expect of a platform (0: any free port)",
    )
    sip_realm: str = Field(
        "openpss",
        min_length=1,
        max_length=64,
        description="digest realm of the SIP server; not VDP, which devices take for a door "
        "station acting as SIP server (door-station manual 4.2.4)",
    )
    sip_group_ring_seconds: float = Field(
        15.0,
        ge=1,
        le=120,
        description="how long each call group member rings before the next one "
        "(platform-video-intercom 2.4); a door station gives up after its ring time, 30 s by "
        "default, so 15 s lets two members ring",
    )
    sip_accounts_file: Path | None = Field(
        None,
        description="CSV (username,password) of SIP accounts until the intercom domain provides "
        "them; without it nobody can register",
    )
    mqtt_url: str | None = Field(
        None,
        description="MQTT broker, mqtt://user:pass@host:1883 or mqtts://...; unset: no MQTT bridge",
    )
    mqtt_topic_prefix: str = Field(
        "openpss",
        min_length=1,
        max_length=64,
        pattern=r"^[^#+/][^#+]*[^#+/]$|^[^#+/]$",
        description="first level of every topic the bridge publishes and listens on",
    )
    mqtt_discovery_prefix: str = Field(
        "homeassistant",
        min_length=1,
        max_length=64,
        pattern=r"^[^#+]+$",
        description="Home Assistant MQTT discovery prefix",
    )
    mqtt_client_id: str = Field(
        "openpss", min_length=1, max_length=64, description="MQTT client identifier"
    )
    mqtt_commands: list[MqttCommand] = Field(
        default_factory=_default_mqtt_commands,
        description="commands accepted over MQTT (JSON list of unlock, door_mode, hangup); "
        "unlock (OPEN) is off by default",
    )
    dhip_port: int = Field(
        5000,
        ge=1,
        le=65535,
        description="DHIP port of door stations (door-station manual: TCP 5000); hang up uses it",
    )
    webrtc_addresses: list[str] | None = Field(
        None,
        description="addresses offered to browsers as ICE host candidates of console calls "
        '(JSON list, e.g. ["127.0.0.1"]); default every address of the host plus 127.0.0.1',
    )
    background_services: bool = Field(
        True, description="start device polling and other background services with the server"
    )

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError(
                "OPENPSS_SECRET_KEY is the built-in development secret; set a random value "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`) "
                "or set OPENPSS_ENVIRONMENT=development"
            )
        if self.mqtt_url:
            url = urlsplit(self.mqtt_url)
            if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
                raise ValueError(
                    "OPENPSS_MQTT_URL must look like mqtt://user:pass@host:1883 or "
                    "mqtts://host:8883 (scheme mqtt or mqtts, with a host)"
                )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'openpss.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
