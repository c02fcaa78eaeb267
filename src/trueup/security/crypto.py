"""Order payloads encrypted at rest: Fernet (AES-128-CBC + HMAC-SHA256), the key from the secret store.

An encrypted payload is stored as `fernet:<token>`, so plaintext rows (written before a key was configured)
and encrypted ones live side by side and each is read the right way. Several keys may be given, comma
separated: the first encrypts, every one decrypts, so a key is rolled by putting the new one first and
dropping the old one once `trueup purge` and re-observation have aged its rows out.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from trueup.errors import Fatal

if TYPE_CHECKING:
    from trueup.config import Config

PREFIX = "fernet:"


class PayloadCipher:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        try:
            self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in parts])
        except (ValueError, UnicodeEncodeError):
            # the key itself is never echoed
            raise Fatal(
                "payload key is not a valid Fernet key (32 url-safe base64-encoded bytes); "
                "generate one with `trueup keygen`"
            ) from None

    def seal(self, payload: str) -> str:
        return PREFIX + self._fernet.encrypt(payload.encode("utf-8")).decode("ascii")

    def open(self, stored: str) -> str:
        """The plaintext payload; a row written without encryption is returned as it is."""
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise Fatal(
                "a stored payload cannot be decrypted with the configured payload key(s): "
                "the key was changed without keeping the old one (list both, new first)"
            ) from None


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def open_payload(stored: str, cipher: PayloadCipher | None) -> str:
    """Read a stored payload: decrypted with `cipher`, or as it is when it was stored in plaintext."""
    if cipher is not None:
        return cipher.open(stored)
    if is_sealed(stored):
        raise Fatal(
            "stored payloads are encrypted but no payload key is configured: "
            "set the environment variable named by [security] payload_key_env"
        )
    return stored


def load_cipher(key_env: str, key_file: str | None = None) -> PayloadCipher | None:
    """The cipher from the environment variable `key_env`, or else from `key_file` (e.g. a mounted secret);
    None when neither is set: payloads then stay plaintext, and `trueup check` warns."""
    keys = os.environ.get(key_env, "").strip()
    if not keys and key_file:
        try:
            keys = Path(key_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise Fatal(f"payload key file {key_file} cannot be read ({exc.strerror})") from None
    return PayloadCipher(keys) if keys else None


def cipher_for(config: Config) -> PayloadCipher | None:
    return load_cipher(config.security.payload_key_env, config.security.payload_key_file)
