"""The deployment's configuration: `trueup.toml` read into typed models.

Secrets never live in the file: a section names the environment variable that holds each one
(`token_env = "TRUEUP_ERP_TOKEN"`). A bad file gets a `ConfigError` naming the key, the value and what
was expected.
"""

from __future__ import annotations

import json
import os
import ssl
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from trueup.alerts.settings import AlertsConfig
from trueup.config_rules import plain, url_problem
from trueup.errors import ConfigError, ConfigProblems, Fatal
from trueup.model.items import FieldLimits, StreetLines


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$", description="an environment variable")]


def _base_url(value: str, allow_insecure_http: bool, *, optional: bool = False) -> str:
    problem = "" if optional and not value else url_problem(value, allow_insecure_http=allow_insecure_http)
    if problem:
        raise PydanticCustomError("value_error", problem)
    return value


def _ca_file(value: str | None) -> str | None:
    """A CA bundle is checked when the file is read, not at the first request hours later."""
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise PydanticCustomError(
            "value_error",
            "no such file: {path}. Resolution: point ca_file at a PEM bundle holding the CA that signs the "
            "server's certificate, or remove the key to use the system's trust store",
            {"path": str(path)},
        )
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise PydanticCustomError(
            "value_error",
            "{path} is not a readable PEM CA bundle ({reason}). Resolution: export the CA certificate in "
            "PEM form (-----BEGIN CERTIFICATE-----)",
            {"path": str(path), "reason": type(exc).__name__},
        ) from None
    return str(path)


class StorefrontConfig(Section):
    kind: Literal["magento"] = "magento"
    name: str = "magento"
    allow_insecure_http: bool = (
        False  # plain http:// to a host that is not this machine: private networks only
    )
    base_url: str = Field(description="REST base including the store code, e.g. https://shop/rest/default")
    # A file without `auth` was written before trueup signed with OAuth 1.0a, for a store that accepts the
    # integration token as a bearer token: it goes on doing that. `trueup init` writes "oauth1".
    auth: Literal["oauth1", "bearer"] = "bearer"
    token_env: EnvName = "TRUEUP_MAGENTO_TOKEN"
    consumer_key_env: EnvName = "TRUEUP_MAGENTO_CONSUMER_KEY"
    consumer_secret_env: EnvName = "TRUEUP_MAGENTO_CONSUMER_SECRET"
    access_token_env: EnvName = "TRUEUP_MAGENTO_ACCESS_TOKEN"
    access_token_secret_env: EnvName = "TRUEUP_MAGENTO_ACCESS_TOKEN_SECRET"
    page_size: int = Field(200, ge=1, le=1000)
    overlap_seconds: int = Field(600, ge=0)
    concurrency: int = Field(4, ge=1, le=64)
    timeout_seconds: float = Field(30, gt=0)
    # A PEM bundle of the CA(s) that sign the store's certificate, for a private CA; TLS is verified
    # either way (there is no switch to turn verification off).
    ca_file: str | None = None

    @field_validator("ca_file")
    @classmethod
    def _readable_ca(cls, value: str | None) -> str | None:
        return _ca_file(value)

    def is_sandbox(self) -> bool:
        """A store on this machine's loopback is a sandbox (the demo, the tests, `trueup sandbox serve`)."""
        host = urlsplit(self.base_url).hostname or ""
        return host in ("127.0.0.1", "localhost", "::1")

    @field_validator("base_url")
    @classmethod
    def _usable_url(cls, value: str, info: ValidationInfo) -> str:
        return _base_url(value, bool(info.data.get("allow_insecure_http")))

    def secret_envs(self) -> dict[str, str]:
        """The environment variables the chosen `auth` reads, by the role of each secret."""
        if self.auth == "bearer":
            return {"token": self.token_env}
        return {
            "consumer_key": self.consumer_key_env,
            "consumer_secret": self.consumer_secret_env,
            "access_token": self.access_token_env,
            "access_token_secret": self.access_token_secret_env,
        }


class LimitsConfig(Section):
    address_line: int = Field(35, ge=10)
    address_lines: int = Field(3, ge=1)
    name: int = Field(60, ge=10)
    city: int = Field(35, ge=5)
    postcode: int = Field(10, ge=5)
    phone: int = Field(20, ge=5)
    email: int = Field(100, ge=20)
    order_id: int = Field(30, ge=6)  # identifiers (order id, SKU) over their limit park the order
    sku: int = Field(64, ge=6)
    description: int = Field(120, ge=10)  # descriptive text is trimmed to fit, with a note

    def to_limits(self) -> FieldLimits:
        return FieldLimits(**self.model_dump())


ErpKind = Literal["rest", "stokly", "prima", "merret", "files"]


class ErpConfig(Section):
    kind: ErpKind = "rest"
    name: str = "erp"
    allow_insecure_http: bool = False
    base_url: str = Field("", description="for HTTP ERPs (rest, stokly, prima)")
    token_env: EnvName = "TRUEUP_ERP_TOKEN"
    concurrency: int = Field(32, ge=1, le=512)
    timeout_seconds: float = Field(30, gt=0)
    ca_file: str | None = None  # as [storefront] ca_file: the ERP's private CA, PEM
    currencies: tuple[str, ...] = ("GBP", "EUR", "USD")
    street_lines: StreetLines = "keep_if_fit"
    limits: LimitsConfig = LimitsConfig()
    # Batch ERPs (merret, files) acknowledge a file later: how often trueup looks, and how long it waits
    # before the order becomes an `erp_not_acknowledged` exception.
    ack_check_seconds: float = Field(60, gt=0)
    ack_timeout_minutes: float = Field(240, gt=0)
    # Each ERP kind's own options, validated by its connector (`Options` in trueup.connectors.<kind>).
    stokly: dict[str, Any] = {}
    prima: dict[str, Any] = {}
    merret: dict[str, Any] = {}
    files: dict[str, Any] = {}

    @field_validator("currencies")
    @classmethod
    def _iso_currencies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        wrong = [c for c in value if not (len(c) == 3 and c.isascii() and c.isalpha() and c.isupper())]
        if wrong:
            raise ValueError(f"must be three-letter ISO 4217 codes such as GBP; not {', '.join(wrong)}")
        return value

    @field_validator("ca_file")
    @classmethod
    def _readable_ca(cls, value: str | None) -> str | None:
        return _ca_file(value)

    @field_validator("base_url")
    @classmethod
    def _usable_base_url(cls, value: str, info: ValidationInfo) -> str:
        return _base_url(value, bool(info.data.get("allow_insecure_http")), optional=True)

    def options(self) -> dict[str, Any]:
        """The `[erp.<kind>]` table for this ERP's kind (empty for rest)."""
        return dict(getattr(self, self.kind, {}) or {})


class OrdersFlowConfig(Section):
    # The go-live moment: orders placed before it belong to whatever posted orders before trueup, and are
    # never posted (`trueup sync orders --since` backfills deliberately). Naive times are UTC.
    start_from: datetime | None = None
    interval_seconds: float = Field(60, gt=0)
    payment_recheck_seconds: float = Field(900, gt=0)
    post_when: Literal["captured", "authorised"] = "captured"
    tax_mode: Literal["storefront"] = "storefront"
    tax_tolerance: Decimal = Field(Decimal("0.02"), ge=0)
    line_tax_tolerance: Decimal = Field(Decimal("0.01"), ge=0)
    enabled: bool = True

    @field_validator("start_from")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        """Magento's times are UTC without a zone: compare like with like."""
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value


class ItemsFlowConfig(Section):
    interval_seconds: float = Field(3600, gt=0)
    enabled: bool = True


class DespatchesFlowConfig(Section):
    """ERP despatches -> storefront shipments (trueup.flows.fulfilment)."""

    interval_seconds: float = Field(300, gt=0)
    order_recheck_seconds: float = Field(300, gt=0)  # a despatch whose order is not posted yet
    notify: bool = True  # Magento e-mails the customer the shipment
    source_code: str = ""  # MSI source to ship from; empty: the store's only/default source
    # checks, as findings in the exception queue
    stalled_after_hours: float = Field(48, ge=0)  # posted, not despatched: a stalled order
    drift_grace_hours: float = Field(4, ge=0)  # despatched in the ERP, still no storefront shipment
    invoice_on_despatch: bool = (
        False  # R-FIN-4: invoice and capture in the storefront what each shipment ships
    )
    # a despatch that closes its order short: "exception" (for e-commerce, with the units and money to
    # refund) or "credit_memo" (an offline credit memo in the storefront for the missing units)
    short_ship: Literal["exception", "credit_memo"] = "exception"
    enabled: bool = True


class RefundsFlowConfig(Section):
    """Storefront credit memos -> ERP credit notes (trueup.flows.refunds). Off: watched only (R-REF-3)."""

    interval_seconds: float = Field(300, gt=0)
    order_recheck_seconds: float = Field(300, gt=0)  # a refund whose order is not posted yet
    page_size: int = Field(100, gt=0, le=1000)
    restock_location: str = ""  # ERP location returned units go back to; empty: the connector's default
    drift_grace_hours: float = Field(24, ge=0)  # a credit memo still without an ERP credit note: refund drift
    enabled: bool = True


class FlowsConfig(Section):
    orders: OrdersFlowConfig = OrdersFlowConfig()
    items: ItemsFlowConfig = ItemsFlowConfig()
    despatches: DespatchesFlowConfig = DespatchesFlowConfig()
    refunds: RefundsFlowConfig = RefundsFlowConfig()


class CarrierMapping(Section):
    carrier: str = Field(min_length=1)
    service: str = ""


class MappingsConfig(Section):
    carriers: dict[str, CarrierMapping] = {}
    skus: dict[str, str] = Field({}, description="storefront SKU -> ERP SKU overrides")

    @field_validator("carriers", mode="before")
    @classmethod
    def _carrier_shorthand(cls, value: Any) -> Any:
        """Accept `"tablerate_bestway" = "DPD/NEXTDAY"` as shorthand for carrier and service."""
        if isinstance(value, dict):
            wrong = [k for k, v in value.items() if isinstance(v, str) and not v.partition("/")[0].strip()]
            wrong += [k for k, v in value.items() if isinstance(v, str) and "/" not in v and k not in wrong]
            if wrong:
                raise ValueError(
                    f"{', '.join(repr(k) for k in wrong)}: a carrier mapping is written "
                    '"CARRIER/SERVICE", e.g. "DPD/NEXTDAY" (the service may be empty: "DPD/")'
                )
            return {
                k: (
                    {"carrier": v.partition("/")[0], "service": v.partition("/")[2]}
                    if isinstance(v, str)
                    else v
                )
                for k, v in value.items()
            }
        return value


class RuntimeConfig(Section):
    database_url: str = "sqlite:///trueup.db"
    batch_size: int = Field(64, ge=1, le=1000)
    batches_in_flight: int = Field(4, ge=1, le=64)
    retry_base_seconds: float = Field(2.0, gt=0)
    retry_max_seconds: float = Field(600, gt=0)
    max_attempts: int = Field(8, ge=1)
    lease_seconds: float = Field(300, gt=0)
    heartbeat_seconds: float = Field(15, gt=0)
    observe_ahead: int = Field(2000, ge=1, description="observation pauses while this many rows are to do")

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        scheme = value.partition(":")[0].partition("+")[0]
        if scheme not in ("sqlite", "postgresql") or "://" not in value:
            raise ValueError(
                "must be sqlite:///path/to/trueup.db or postgresql://user@host/dbname (trueup supports "
                "only SQLite and PostgreSQL; the value is not shown, since it may hold a password)"
            )
        return value


class StockBuffersConfig(Section):
    """Units held back from the storefront, most specific first: SKU, then category, then global."""

    buffer: int = Field(0, ge=0, description="global: held back from every SKU at every source")
    skus: dict[str, Annotated[int, Field(ge=0)]] = {}
    categories: dict[str, Annotated[int, Field(ge=0)]] = {}


StockTerm = Literal["allocated", "quarantined", "on_order", "reserved"]


class StockConfig(Section):
    """`[stock]`: the ERP → storefront stock flow (docs/configuration.md)."""

    # Off unless the file says so: an upgraded deployment never starts managing a store's stock unasked.
    # `trueup init` writes `enabled = true`; `trueup sync stock` runs when asked, whatever this says.
    enabled: bool = False
    interval_seconds: float = Field(300, gt=0)
    batch_size: int = Field(500, ge=1, le=5000, description="source items per storefront request")
    mode: Literal["msi", "async", "legacy"] = "msi"
    bulk_poll_seconds: float = Field(1.0, gt=0, description="async mode: between bulk status polls")
    stock_id: int = Field(1, ge=1, description="the storefront stock the sources belong to (drift reads)")
    # None: the ERP connector's own formula. A list overrides it: the terms taken off on_hand.
    formula: tuple[StockTerm, ...] | None = None
    use_erp_sellable: bool | None = None
    locations: dict[str, str] = Field({}, description="ERP location -> storefront source code")
    default_source: str = "default"
    categories: dict[str, str] = Field({}, description="SKU prefix -> category, for category buffers")
    reserved: dict[str, Annotated[int, Field(ge=0)]] = Field({}, description="per SKU, for other channels")
    buffers: StockBuffersConfig = StockBuffersConfig()
    drift_tolerance: int = Field(0, ge=0, description="units of difference that are not drift")
    drift_age_seconds: float = Field(900, ge=0, description="how long a drift may last before it parks")


class PricesConfig(Section):
    """`[prices]`: the ERP's price list → storefront prices (docs/configuration.md)."""

    enabled: bool = False  # as [stock]: `trueup run` pushes prices only when the file says so
    interval_seconds: float = Field(3600, gt=0)
    batch_size: int = Field(500, ge=1, le=5000)
    currency: str = Field("GBP", pattern=r"^[A-Z]{3}$", description="the storefront's base currency")
    drift_tolerance: Decimal = Field(Decimal(0), ge=0, description="money a unit that is not drift")


class CatalogConfig(Section):
    """`[catalog]`: ERP item master → storefront products, technical attributes only (docs/catalog.md)."""

    enabled: bool = False  # as [stock]: `trueup run` creates and updates products only when the file says so
    interval_seconds: float = Field(3600, gt=0)
    batch_size: int = Field(100, ge=1, le=1000, description="products per batch (one ledger row)")
    barcode_attribute: str = Field(
        "ean", pattern=r"^[a-z][a-z0-9_]{0,59}$", description="storefront custom attribute for the barcode"
    )


class OrphansCheckConfig(Section):
    """The orphan sweep (`trueup check orders`, and on its own schedule in `trueup run`)."""

    enabled: bool = True
    interval_seconds: float = Field(900, gt=0)
    window_days: float = Field(7, gt=0, description="the trailing window of storefront orders listed")
    sla_minutes: float = Field(
        30, ge=0, description="a paid order not posted this long after its last update"
    )
    verify_in_erp: Literal["sample", "all", "off"] = "sample"
    sample_size: int = Field(20, ge=1, description="linked orders looked up in the ERP per sweep (sample)")
    page_size: int = Field(300, ge=1, le=1000, description="order headers per Magento request")


class ReconcileCheckConfig(Section):
    """The sales-to-ledger reconciliation (`trueup check ledger`, daily in `trueup run` when enabled)."""

    enabled: bool = False  # as [stock]: finance turns it on once the ERP's ledger is the one to close on
    interval_seconds: float = Field(86400, gt=0)
    window_days: int = Field(7, ge=1, description="days of ERP postings reconciled on each run")
    lookback_days: int = Field(30, ge=0, description="older storefront orders an ERP may still invoice")
    grace_hours: float = Field(24, ge=0, description="a new order not in the ledger yet is not a finding")
    money_tolerance_minor: int = Field(0, ge=0, description="net, shipping, discount and credit notes")
    tax_rounding_minor_per_line: int = Field(1, ge=0, description="tax variance that is rounding, per line")
    quantity_tolerance: int = Field(0, ge=0)
    payouts_folder: str = Field(
        "", description="payout CSVs `trueup close` reads when --payouts is not given"
    )


class ChecksConfig(Section):
    orphans: OrphansCheckConfig = OrphansCheckConfig()
    reconcile: ReconcileCheckConfig = ReconcileCheckConfig()


class SecurityConfig(Section):
    # Order payloads are encrypted at rest with the Fernet key(s) in this environment variable (or file);
    # without one they stay plaintext and `trueup check` warns. docs/security.md
    payload_key_env: EnvName = "TRUEUP_PAYLOAD_KEY"
    payload_key_file: str | None = None
    retention_days: int = Field(30, ge=1, description="finished rows' payloads are purged after this")
    webhook_secret_env: EnvName = "TRUEUP_WEBHOOK_SECRET"


class Config(Section):
    storefront: StorefrontConfig
    erp: ErpConfig
    flows: FlowsConfig = FlowsConfig()
    checks: ChecksConfig = ChecksConfig()
    mappings: MappingsConfig = MappingsConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    stock: StockConfig = StockConfig()
    prices: PricesConfig = PricesConfig()
    catalog: CatalogConfig = CatalogConfig()
    security: SecurityConfig = SecurityConfig()
    alerts: AlertsConfig = AlertsConfig()  # trueup.alerts.settings, docs/alerts.md


M = TypeVar("M", bound=BaseModel)


def _validate(model: type[M], data: Mapping[str, Any], key_prefix: str) -> M:
    """Validate `data`, reporting every error at once in plain words, each naming its key in full."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        source, _, prefix = key_prefix.rpartition(": ")
        problems = [
            plain(model, error, prefix + ".".join(str(p) for p in error["loc"])) for error in exc.errors()
        ]
        keys = [prefix + ".".join(str(p) for p in error["loc"]) for error in exc.errors()]
        raise ConfigProblems(source or prefix.rstrip("."), problems, keys) from None


def parse_config(data: dict[str, Any], *, source: str = "trueup.toml") -> Config:
    return _validate(Config, data, f"{source}: ")


def parse_options(model: type[M], data: Mapping[str, Any], prefix: str) -> M:
    """Validate a connector's own options table, naming the bad key in full (e.g. `erp.stokly.location`)."""
    return _validate(model, data, f"{prefix}.")


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Fatal(f"config file {path} not found; run `trueup init` to write an example") from None
    except IsADirectoryError:
        raise Fatal(
            f"{path} is a folder, not a config file. Resolution: pass the file itself, e.g. "
            f"-c {path / 'trueup.toml'}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Fatal(f"cannot read config file {path}: {exc.__class__.__name__}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "<file>", f"valid TOML ({exc})") from None
    return parse_config(data, source=str(path))


def dump_toml(data: Mapping[str, Any]) -> str:
    """Write config data as TOML (strings, numbers, booleans, lists of those, and nested tables)."""
    lines: list[str] = []

    def key(k: str) -> str:
        return k if k and all(c.isalnum() or c in "_-" for c in k) else json.dumps(k)

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float | Decimal):
            return str(v)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if v is None:
            raise ValueError("TOML has no null: leave the key out")
        return json.dumps(str(v))

    def table(prefix: str, data: Mapping[str, Any]) -> None:
        scalars = [(k, v) for k, v in data.items() if not isinstance(v, Mapping) and v is not None]
        if prefix and (scalars or not data):
            lines.append(f"\n[{prefix}]")
        lines.extend(f"{key(k)} = {value(v)}" for k, v in scalars)
        for k, v in data.items():
            if isinstance(v, Mapping):
                table(f"{prefix}.{key(k)}" if prefix else key(k), v)

    table("", data)
    return "\n".join(lines).lstrip() + "\n"


def secret_value(env_name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The secret in the variable `env_name`, or else in the file that `<env_name>_FILE` names (the
    container convention: a mounted secret file keeps the value out of the process environment)."""
    environ = os.environ if environ is None else environ
    if value := environ.get(env_name):
        return value
    path = environ.get(f"{env_name}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError) as exc:
        raise Fatal(
            f"secret file {path} (named by {env_name}_FILE) cannot be read: {type(exc).__name__}. "
            "Resolution: check the path and that this user may read it."
        ) from None


def secret(env_name: str) -> str:
    """Read a secret from the environment (or `<env_name>_FILE`). Its value is never logged or echoed."""
    value = secret_value(env_name)
    if not value:
        raise Fatal(f"secret missing: set the environment variable {env_name} (or {env_name}_FILE)")
    return value


_EXAMPLE = """\
# trueup deployment configuration. Secrets are never written here: each section names the
# environment variables that hold its secrets.

[storefront]
kind = "magento"
name = "magento"
# The REST base, including the store code.
base_url = "https://shop.example.co.uk/rest/default"
# An integration (Magento admin > System > Extensions > Integrations) with read access to Sales > Operations
# > Orders. "oauth1" signs each request with its four values (OAuth 1.0a, HMAC-SHA256), as Magento 2.4.4+
# expects; "bearer" sends the access token alone, which only works where the store allows integration
# tokens as bearer tokens.
auth = "oauth1"
consumer_key_env = "TRUEUP_MAGENTO_CONSUMER_KEY"
consumer_secret_env = "TRUEUP_MAGENTO_CONSUMER_SECRET"
access_token_env = "TRUEUP_MAGENTO_ACCESS_TOKEN"
access_token_secret_env = "TRUEUP_MAGENTO_ACCESS_TOKEN_SECRET"
# token_env = "TRUEUP_MAGENTO_TOKEN"   # the access token, for auth = "bearer"
page_size = 200          # orders per searchCriteria page
overlap_seconds = 600    # each poll re-reads this much before the cursor; posting is idempotent

[erp]
kind = "rest"            # the generic REST ERP contract: docs/connectors/rest-erp.md
name = "erp"
base_url = "https://erp.example.co.uk/api/v1"
token_env = "TRUEUP_ERP_TOKEN"
concurrency = 32         # requests in flight to the ERP
currencies = ["GBP", "EUR"]
street_lines = "keep_if_fit"   # or "rejoin": always join the street lines and re-wrap them to fill each line
# Batch ERPs (merret, files) only: an order file is posted once the ERP's batch takes it.
ack_check_seconds = 60       # how often a written file's fate is checked
ack_timeout_minutes = 240    # not taken nor refused by then: an erp_not_acknowledged exception

[erp.limits]             # what the ERP's fields can hold; orders are checked before posting
address_line = 35
address_lines = 3
name = 60
city = 35
postcode = 10

[flows.orders]
# Go-live: orders placed before this moment (UTC) are never posted; `trueup sync orders --since` backfills.
start_from = {start_from}
interval_seconds = 60
payment_recheck_seconds = 900   # pending-payment orders are re-checked this often
post_when = "captured"          # or "authorised" when payment is captured on despatch
tax_mode = "storefront"         # the storefront's tax is final and is carried to the ERP
tax_tolerance = "0.02"          # per order, in the order currency
line_tax_tolerance = "0.01"     # per line

[flows.items]
interval_seconds = 3600         # ERP item master -> trueup's SKU map

[flows.despatches]
interval_seconds = 300          # ERP despatches -> storefront shipments with tracking
notify = true                   # the storefront e-mails the customer each shipment
short_ship = "exception"        # closed short by the ERP: "exception" (e-commerce) or "credit_memo"

[flows.refunds]
enabled = true                  # storefront credit memos -> ERP credit notes; false: watched only
interval_seconds = 300
drift_grace_hours = 24          # a credit memo still without an ERP credit note: a refund_drift finding

[checks.orphans]               # the second net: paid orders with no ERP link (`trueup check orders`)
interval_seconds = 900
window_days = 7                 # storefront orders updated this recently are listed
sla_minutes = 30                # a paid order still not posted this long after its last update is a finding
verify_in_erp = "sample"        # ask the ERP about linked orders: "sample", "all" or "off"
sample_size = 20

[mappings.carriers]
# storefront shipping method = "ERP_CARRIER/SERVICE"; read in reverse for despatches: the tracking's carrier
"flatrate_flatrate" = "RM/TRACKED48"
"tablerate_bestway" = "DPD/NEXTDAY"

[mappings.skus]
# storefront SKU = ERP SKU, where they differ
# "WS12-M-ORANGE-OLD" = "WS12-M-Orange"

[stock]                  # ERP sellable stock -> storefront source quantities (never salable ones)
enabled = true           # `trueup run` pushes stock on its own lane
interval_seconds = 300
batch_size = 500         # source items per POST /V1/inventory/source-items
mode = "msi"             # "async": the async bulk endpoint, polled; "legacy": PUT .../stockItems/1 per SKU
# formula = ["allocated", "quarantined", "reserved"]   # taken off on_hand; default: the ERP connector's
drift_tolerance = 0
drift_age_seconds = 900

[stock.locations]        # ERP location = storefront source code; unmapped locations are left out
# "WEB" = "default"

[stock.buffers]          # units held back: per SKU, else per category, else global; never below 0
buffer = 0

[prices]                 # the ERP's price list -> base, special and tier prices
enabled = true
interval_seconds = 3600
currency = "GBP"         # the store's base currency: prices in others are left out

[catalog]                # the ERP's item master -> storefront products (name, status, barcode, weight)
enabled = true           # descriptions, images and SEO are never sent: the storefront's people own them
barcode_attribute = "ean"

[runtime]
database_url = "sqlite:///trueup.db"   # or postgresql://user@host/dbname
batch_size = 64
retry_base_seconds = 2
max_attempts = 8

# Alerts to each owner team, and the daily report (docs/alerts.md). Uncomment and fill in:
# [alerts.smtp]
# host = "smtp.example.co.uk"
# port = 587
# security = "starttls"
# username = "trueup"                  # the password: env TRUEUP_SMTP_PASSWORD
# sender = "trueup@example.co.uk"
#
# [alerts.routes.finance]
# email = ["finance@example.co.uk"]
# slack_url_env = "TRUEUP_SLACK_FINANCE"
#
# [alerts.routes.default]             # every team without a route of its own
# email = ["ops@example.co.uk"]
#
# [alerts.daily_report]
# at = "07:00"                         # UTC
"""


def example_config(now: datetime) -> str:
    """The commented example config `trueup init` writes, going live at `now` (UTC, to the second)."""
    start = (
        now.astimezone(UTC).replace(tzinfo=None, microsecond=0) if now.tzinfo else now.replace(microsecond=0)
    )
    return _EXAMPLE.replace("{start_from}", start.isoformat())
