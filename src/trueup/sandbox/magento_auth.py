"""The sandbox Magento's gate: OAuth 1.0a signatures checked the way Magento checks them, and bearer tokens.

Magento 2.4 (`Framework/Oauth/Oauth.php::validateAccessTokenRequest` and the classes it calls) checks, in
this order, and the REST layer answers each refusal as `{"message": ..., "parameters"?: ...}` with
%placeholders unfilled, 400 for an `OauthInputException` and 401 for an `Oauth\\Exception`:

1. `oauth_version`, if sent, is "1.0" (400); the protocol parameters are all there (400); the token is 32
   characters (400); the signature method is HMAC-SHA256 (400);
2. the consumer key is 32 characters and known (401);
3. the timestamp is not more than 600 s ahead (400) and the nonce is new for this consumer (401); the
   nonce is stored before the signature is checked;
4. the access token is known (401);
5. the HMAC-SHA256 signature over method, URL and parameters, keyed with consumer secret & token secret
   (401).

One deliberate difference: real Magento refuses only a timestamp from the future; the sandbox also refuses
one more than `window` seconds old, because it forgets nonces after that window (Magento keeps them until
a cron job cleans them up).

Magento reads the query string by splitting on `&` and `=` and `rawurldecode`-ing each part (a `+` stays a
`+`), unlike a form decoder: the sandbox does the same, so a client that sends a space as `+` is refused
here as it would be there. The base string, HMAC and comparison are oauthlib's (`verify_hmac_sha256`).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlsplit

from oauthlib.oauth1.rfc5849 import signature, utils

UNAUTHORIZED = {
    "message": "The consumer isn't authorized to access %resources.",
    "parameters": {"resources": "Magento_Sales::actions_view"},
}
SIGNATURE_INVALID = "The signature is invalid. Verify and try again."
CONSUMER_KEY_LENGTH = "Consumer key is not the correct length"
CONSUMER_UNKNOWN = "A consumer having the specified key does not exist"
TOKEN_LENGTH = "The token length is invalid. Check the length and try again."
TOKEN_UNKNOWN = "Specified token does not exist"
NONCE_USED = "The nonce is already being used by the consumer with ID %1"
TIMESTAMP_REFUSED = "Incorrect timestamp value in the oauth_timestamp parameter"
_REQUIRED = '"%fieldName" is required. Enter and try again.'
_REQUIRED_PARAMS = (
    "oauth_consumer_key",
    "oauth_signature",
    "oauth_signature_method",
    "oauth_nonce",
    "oauth_timestamp",
    "oauth_token",
)
LENGTH = 32  # Magento's consumer keys, tokens and secrets (Framework/Oauth/Helper/Oauth.php)

Refusal = tuple[int, dict[str, Any]]


def _refuse(status: int, message: str, parameters: Any = None) -> Refusal:
    body: dict[str, Any] = {"message": message}
    if parameters:
        body["parameters"] = parameters
    return status, body


def _random() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(LENGTH))


@dataclass(frozen=True)
class OAuthCredentials:
    """An activated integration's four values, generated the way Magento generates them by default."""

    consumer_key: str = field(default_factory=_random)
    consumer_secret: str = field(default_factory=_random, repr=False)
    access_token: str = field(default_factory=_random)
    access_token_secret: str = field(default_factory=_random, repr=False)
    consumer_id: int = 1


def magento_query_params(query: str) -> list[tuple[str, str]]:
    """The query's non-protocol parameters as Magento's `Oauth\\Helper\\Request` reads them for signing."""
    params = []
    for pair in query.split("&") if query else ():
        parts = pair.split("=")
        if len(parts) == 2 and "oauth_" not in parts[0]:
            params.append((unquote(parts[0]), unquote(parts[1])))
    return params


class MagentoGate:
    """Accepts a request signed with `oauth` credentials or carrying the bearer `token` (either may be None,
    as on a store with integration tokens as bearer tokens turned off); otherwise Magento's refusal."""

    def __init__(
        self,
        *,
        token: str | None = None,
        oauth: OAuthCredentials | None = None,
        clock: Callable[[], float] | None = None,
        window: float = 600,
    ) -> None:
        self.token = token
        self.oauth = oauth
        self.clock = clock or time.time
        self.window = window
        self._nonces: dict[str, float] = {}

    def check(self, method: str, url: str, authorization: str) -> Refusal | None:
        """None if the request may go on, else (status, Magento's body)."""
        scheme, _, credential = authorization.strip().partition(" ")
        if scheme.lower() == "oauth":
            return self._check_oauth(method, url, authorization)
        if scheme.lower() == "bearer" and self.token is not None:
            supplied = f"Bearer {credential.strip()}".encode()
            if hmac.compare_digest(supplied, f"Bearer {self.token}".encode()):
                return None
        # No user context: Magento treats the caller as a guest and its ACL check refuses it.
        return 401, UNAUTHORIZED

    def _check_oauth(self, method: str, url: str, authorization: str) -> Refusal | None:
        try:
            header = dict(utils.parse_authorization_header(authorization))
        except ValueError:
            header = {}
        # Magento `rawurldecode`s each header value, as RFC 5849 §3.5.1 has it.
        params = {unquote(k): unquote(v) for k, v in header.items() if k.startswith("oauth_")}
        if params.get("oauth_version", "1.0") != "1.0":
            return _refuse(400, 'The "%1" Oauth version isn\'t supported.', [params["oauth_version"]])
        missing = [name for name in _REQUIRED_PARAMS if name not in params]
        if len(missing) == 1:
            return _refuse(400, _REQUIRED, {"fieldName": missing[0]})
        if missing:
            return 400, {
                "message": "One or more input exceptions have occurred.",
                "errors": [{"message": _REQUIRED, "parameters": {"fieldName": m}} for m in missing],
            }
        if len(params["oauth_token"]) != LENGTH:
            return _refuse(400, TOKEN_LENGTH)
        if params["oauth_signature_method"] != "HMAC-SHA256":
            return _refuse(400, "Signature method %1 is not supported", [params["oauth_signature_method"]])
        creds = self.oauth
        if len(params["oauth_consumer_key"]) != LENGTH:
            return _refuse(401, CONSUMER_KEY_LENGTH)
        if creds is None or not hmac.compare_digest(params["oauth_consumer_key"], creds.consumer_key):
            return _refuse(401, CONSUMER_UNKNOWN)
        if (refused := self._check_nonce(params["oauth_nonce"], params["oauth_timestamp"])) is not None:
            return refused
        if not hmac.compare_digest(params["oauth_token"], creds.access_token):
            return _refuse(401, TOKEN_UNKNOWN)
        if not self._signature_ok(method, url, params):
            return _refuse(401, SIGNATURE_INVALID)
        return None

    def _check_nonce(self, nonce: str, timestamp: str) -> Refusal | None:
        assert self.oauth is not None
        now = self.clock()
        try:
            stamp = int(timestamp)
        except ValueError:
            stamp = 0  # PHP's (int) cast of a non-number
        if stamp <= 0 or stamp > now + self.window or stamp < now - self.window:
            return _refuse(400, TIMESTAMP_REFUSED)
        if nonce in self._nonces:
            return _refuse(401, NONCE_USED, [str(self.oauth.consumer_id)])
        self._nonces[nonce] = stamp
        if len(self._nonces) > 4096:  # forget nonces whose timestamps the window refuses anyway
            self._nonces = {n: t for n, t in self._nonces.items() if t >= now - self.window}
        return None

    def _signature_ok(self, method: str, url: str, oauth_params: dict[str, str]) -> bool:
        assert self.oauth is not None
        parts = urlsplit(url)
        # The query is left out of the request's URI: oauthlib's own query decoder is a form decoder, and
        # Magento's reading of the query (`magento_query_params`) is what the signature must match.
        # verify_hmac_sha256 reads these four attributes of oauthlib's Request, as its ResourceEndpoint sets
        # them; a namespace stands in for one.
        request = SimpleNamespace(
            uri=f"{parts.scheme}://{parts.netloc}{parts.path}",
            http_method=method.upper(),
            params=[
                *magento_query_params(parts.query),
                *((k, v) for k, v in oauth_params.items() if k != "oauth_signature"),
            ],
            signature=oauth_params["oauth_signature"],
        )
        return signature.verify_hmac_sha256(
            request, self.oauth.consumer_secret, self.oauth.access_token_secret
        )
