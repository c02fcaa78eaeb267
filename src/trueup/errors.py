"""The three bands every failure falls into, so that the runtime knows what to do with it.

    TrueupError
     ├── Retriable            try again later, with backoff; honour Retry-After
     │    ├── RateLimited     429, or the system's own "slow down" signal
     │    ├── Unavailable     network error, timeout, 5xx
     │    ├── Conflict        409 version conflict
     │    └── NotReady        a dependency has not synced yet (a despatch whose order is not linked)
     ├── Skippable            this record is wrong; park it with a reason, an owner and a Resolution,
     │    │                   and let the batch go on
     │    └── Rejected        the remote system refused the record (400/422) for a reason it stated
     └── Fatal                the flow cannot run at all (bad credentials, bad config); stop and alert
          └── ConfigError     trueup.toml is wrong: names the key, the value and what is expected

Connectors raise these; they never return an error object in place of a result.
"""

from __future__ import annotations

from trueup.model.exceptions import REASONS, Owner, Reason


class TrueupError(Exception):
    """Base of every error trueup raises on purpose."""


class Retriable(TrueupError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(Retriable):
    pass


class Unavailable(Retriable):
    pass


class Conflict(Retriable):
    pass


class NotReady(Retriable):
    pass


class Skippable(TrueupError):
    """A record that cannot be processed as it is. The message must name the record, field and value."""

    def __init__(self, reason: Reason, message: str, *, field: str = "", value: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.field = field
        self.value = value

    @property
    def owner(self) -> Owner:
        return REASONS[self.reason].owner

    @property
    def resolution(self) -> str:
        return REASONS[self.reason].resolution

    def __str__(self) -> str:
        return f"{self.args[0]} Resolution: {self.resolution}"


class Rejected(Skippable):
    def __init__(self, message: str, *, field: str = "", value: str = "") -> None:
        super().__init__(Reason.ERP_REJECTED, message, field=field, value=value)


class Fatal(TrueupError):
    pass


class ConfigError(Fatal):
    def __init__(self, key: str, value: object, expected: str) -> None:
        super().__init__(f"config error at {key}: got {value!r}; expected {expected}")
        self.key = key
        self.value = value
        self.expected = expected


class ConfigProblems(ConfigError):
    """Every problem found in one config file, reported at once, one plain sentence each."""

    def __init__(self, source: str, problems: list[str], keys: list[str] | None = None) -> None:
        Fatal.__init__(
            self,
            f"{source} has {len(problems)} problem{'s' if len(problems) > 1 else ''}:\n"
            + "\n".join(f"  - {p}" for p in problems)
            + "\nResolution: correct each key named above (docs/configuration.md lists them all), then run "
            "`trueup check` again.",
        )
        # One problem: `key` is that key in full (erp.stokly.page_size), as a single ConfigError's is.
        self.key = keys[0] if keys and len(keys) == 1 else source
        self.value, self.expected = None, "; ".join(problems)
        self.problems = problems
