"""`[alerts]` in trueup.toml: the channels each owner team is told on, and the daily report.

Secrets never live in the file: a Slack incoming-webhook URL, the webhook's HMAC secret and the SMTP
password are named by environment variable, like every other secret (docs/configuration.md).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from trueup.config_rules import is_loopback, url_problem
from trueup.model.exceptions import Owner

EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$", description="an environment variable")]
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
DEFAULT_ROUTE = "default"  # a route for every team that has none of its own


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _addresses(value: tuple[str, ...]) -> tuple[str, ...]:
    wrong = [a for a in value if not _ADDRESS.match(a)]
    if wrong:
        raise ValueError(f"not e-mail addresses: {', '.join(wrong)} (expected e.g. finance@example.co.uk)")
    return value


class SmtpConfig(_Section):
    """The mail server alerts and the daily report are sent through."""

    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    allow_insecure: bool = False
    # starttls: upgrade a plain connection (port 587); tls: TLS from the first byte (465); none: loopback
    # relays only (or allow_insecure = true on a private network).
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""  # empty: no login
    password_env: EnvName = "TRUEUP_SMTP_PASSWORD"
    sender: str = "trueup@localhost"
    timeout_seconds: float = Field(30, gt=0)

    @field_validator("security")
    @classmethod
    def _encrypted_off_loopback(cls, value: str, info: ValidationInfo) -> str:
        host = str(info.data.get("host", ""))
        if value == "none" and not is_loopback(host) and not info.data.get("allow_insecure"):
            raise ValueError(
                f"plain SMTP to {host} would send exception details unencrypted: use starttls or tls, or "
                "set allow_insecure = true on a private network"
            )
        return value


class RouteConfig(_Section):
    """`[alerts.routes.<team>]`: where one owner team's alerts go. Any combination of channels."""

    email: tuple[str, ...] = ()
    slack_url_env: EnvName | None = None  # the incoming-webhook URL is itself the secret
    webhook_url: str = ""
    webhook_secret_env: EnvName = "TRUEUP_ALERT_WEBHOOK_SECRET"
    allow_insecure_http: bool = False

    @field_validator("email")
    @classmethod
    def _valid_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _addresses(value)

    @field_validator("webhook_url")
    @classmethod
    def _usable_url(cls, value: str, info: ValidationInfo) -> str:
        problem = value and url_problem(value, allow_insecure_http=bool(info.data.get("allow_insecure_http")))
        if problem:
            raise ValueError(problem)
        return value

    def channel_kinds(self) -> list[str]:
        kinds = ["email"] if self.email else []
        kinds += ["slack"] if self.slack_url_env else []
        return kinds + (["webhook"] if self.webhook_url else [])


class DailyReportConfig(_Section):
    """`[alerts.daily_report]`: the day's exceptions per team, by e-mail (HTML) and as CSV."""

    enabled: bool = True
    at: str = Field("07:00", description="UTC time of day the previous day's report is sent, HH:MM")
    to: tuple[str, ...] = ()  # empty: every address in the routes
    ageing_hours: float = Field(24, gt=0, description="an exception open this long is ageing")
    out_dir: str = "reports"  # the HTML and CSV are also written here

    @field_validator("at")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", value)
        if not match:
            raise ValueError("a UTC time of day written HH:MM, e.g. 07:00")
        return value

    @field_validator("to")
    @classmethod
    def _valid_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _addresses(value)


class AlertsConfig(_Section):
    enabled: bool = True  # with no routes nothing is sent either way
    interval_seconds: float = Field(60, gt=0)
    burst_threshold: int = Field(10, ge=1, description="more of one reason in the window: alert + digest")
    burst_window_minutes: float = Field(60, gt=0)
    first_scan_hours: float = Field(24, ge=0, description="the first pass alerts exceptions this recent")
    lookback_seconds: float = Field(300, ge=0, description="each scan re-reads this much before its cursor")
    retry_base_seconds: float = Field(30, gt=0)
    retry_max_seconds: float = Field(3600, gt=0)
    max_attempts: int = Field(50, ge=1, description="then a delivery is given up and shown as failed")
    timeout_seconds: float = Field(15, gt=0, description="per Slack or webhook request")
    smtp: SmtpConfig = SmtpConfig()
    routes: dict[str, RouteConfig] = {}
    daily_report: DailyReportConfig = DailyReportConfig()

    @field_validator("routes")
    @classmethod
    def _known_teams(cls, value: dict[str, RouteConfig]) -> dict[str, RouteConfig]:
        known = [*(o.value for o in Owner), DEFAULT_ROUTE]
        wrong = [team for team in value if team not in known]
        if wrong:
            raise ValueError(f"unknown team {', '.join(wrong)}: routes are keyed by {', '.join(known)}")
        return value

    def route_for(self, team: str | None) -> tuple[str, RouteConfig] | None:
        """The route of `team`, else the default route; None when neither is configured."""
        if team and team in self.routes:
            return team, self.routes[team]
        if DEFAULT_ROUTE in self.routes:
            return DEFAULT_ROUTE, self.routes[DEFAULT_ROUTE]
        return None
