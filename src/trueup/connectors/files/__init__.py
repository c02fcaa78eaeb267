"""The generic files ERP: CSV or XML batch files in `pending/`, `done/` and `error/` folders, over SFTP or
a local folder (docs/connectors/files.md). Merret (`trueup.connectors.merret`) is this with its own profile.
"""

from __future__ import annotations

import logging
import os
from typing import Literal

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from trueup.config import ErpConfig, parse_options, secret
from trueup.connectors.files.connector import FilesErp, RejectedFile, RejectedRow
from trueup.connectors.files.profile import FILES_PROFILE, Format, Profile
from trueup.connectors.files.transport import LocalTransport, SftpTransport, Transport
from trueup.errors import ConfigError

log = logging.getLogger("trueup.files")


class Options(BaseModel):
    """`[erp.files]` (or `[erp.merret]`): where the folders are and what the files look like."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    transport: Literal["local", "sftp"] = "local"
    root: str = Field("", description="local: the folder holding inbound/ and outbound/; sftp: remote folder")
    host: str = ""
    port: int = Field(22, ge=1, le=65535)
    username: str = ""
    # The known_hosts file that holds the server's host key. It must name a file: an empty value once
    # turned host-key checking off without a word. Only the loudly named key below turns it off.
    known_hosts: str = "~/.ssh/known_hosts"
    insecure_skip_host_key_check: bool = False
    client_key: str = Field("", description="a private key file; empty: password from token_env")
    format: Literal["csv", "xml"] | None = None
    delimiter: str | None = Field(None, min_length=1, max_length=1)
    encoding: str | None = None
    columns: dict[str, str] = {}
    acknowledgement: Literal["moved", "file"] | None = None  # None: the profile's ("moved")
    page_size: int = Field(1000, ge=1, le=100_000)
    # OWASP CSV injection: text cells starting = + - @ get a leading ', line breaks become spaces.
    neutralise_formulas: bool = True


def build_transport(options: Options, erp: ErpConfig, prefix: str) -> Transport:
    if options.transport == "local":
        if not options.root:
            raise ConfigError(f"{prefix}.root", options.root, "the folder that holds inbound/ and outbound/")
        return LocalTransport(options.root)
    if not options.host:
        raise ConfigError(f"{prefix}.host", options.host, "the SFTP server's host name")
    if not options.username:
        raise ConfigError(f"{prefix}.username", options.username, "the SFTP user name")
    known_hosts: str | None = os.path.expanduser(options.known_hosts.strip())
    if options.insecure_skip_host_key_check:
        # Anyone between trueup and the server could read every order and write the ERP's files.
        log.warning(
            "%s.insecure_skip_host_key_check is set: the SFTP server %s is NOT authenticated",
            prefix,
            options.host,
        )
        known_hosts = None
    elif not options.known_hosts.strip() or not os.path.isfile(str(known_hosts)):
        raise ConfigError(
            f"{prefix}.known_hosts",
            options.known_hosts,
            "a known_hosts file that exists and holds the SFTP server's host key (ask the ERP's "
            "administrator for it, or run ssh-keyscan and check the fingerprint with them). Host-key "
            "checking is never off "
            f"unless {prefix}.insecure_skip_host_key_check = true",
        )
    return SftpTransport(
        options.host,
        options.port,
        options.username,
        root=options.root,
        password=None if options.client_key else secret(erp.token_env),
        client_key=options.client_key or None,
        known_hosts=known_hosts,
        timeout=erp.timeout_seconds,
    )


def build_profile(default: Profile, options: Options, prefix: str) -> Profile:
    try:
        return default.with_overrides(
            format=Format(options.format) if options.format else None,
            columns=options.columns,
            delimiter=options.delimiter,
            encoding=options.encoding,
            acknowledgement=options.acknowledgement,
            neutralise_formulas=options.neutralise_formulas,
        )
    except ValueError as exc:
        raise ConfigError(f"{prefix}.columns", options.columns, str(exc)) from None


def connect_files(erp: ErpConfig, default: Profile) -> FilesErp:
    prefix = f"erp.{erp.kind}"
    options = parse_options(Options, erp.options(), prefix)
    return FilesErp(
        build_transport(options, erp, prefix),
        build_profile(default, options, prefix),
        name=erp.name,
        limits=erp.limits.to_limits(),
        page_size=options.page_size,
    )


async def connect(session: aiohttp.ClientSession, erp: ErpConfig) -> FilesErp:
    """The connector for `kind = "files"`; the HTTP session is unused (files travel over SFTP or disk)."""
    return connect_files(erp, FILES_PROFILE)


__all__ = ["FilesErp", "Options", "RejectedFile", "RejectedRow", "connect", "connect_files"]
