"""How trueup proves who it is to Magento: OAuth 1.0a signing (what stores have) or a bearer token.

Since Magento 2.4.4 an integration's access token is refused as a bearer token unless the store turns on
"Allow OAuth Access Tokens to be used as standalone Bearer tokens", which most leave off. Integrations
therefore sign every request with OAuth 1.0a, HMAC-SHA256, using the four values Magento shows for an
integration: consumer key and secret, access token and secret.

The signature covers the method, the URL and every query parameter, so the query must be signed exactly as
it is sent. Magento reads the query by splitting on `&` and `=` and `rawurldecode`-ing each part, so a space
sent as `+` stays a `+` there while a form decoder (and oauthlib) would read a space: the signatures would
differ. `JsonClient` therefore encodes the query itself (`http.encode_query`: RFC 3986, a space is `%20`,
brackets are `%5B`/`%5D`), signs that URL and sends it verbatim.

`explain` turns Magento's 401 and 400 answers into which of the secrets is wrong, where Magento tells.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal, cast

from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from trueup.config import secret_value
from trueup.errors import Fatal

AuthKind = Literal["oauth1", "bearer"]


ROLES = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
"""The four values of an activated Magento integration, in the order Magento's admin shows them."""


class OAuth1Auth:
    """Signs each request afresh: Magento refuses a nonce it has seen, so a header is never reused.

    `env` names the environment variable each value came from, so that a refusal can name it; the values
    themselves are never in a message or a repr.
    """

    kind: AuthKind = "oauth1"

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._client = Client(
            consumer_key,
            client_secret=consumer_secret,
            resource_owner_key=access_token,
            resource_owner_secret=access_token_secret,
            signature_method=SIGNATURE_HMAC_SHA256,
        )
        self.env = {role: (env or {}).get(role, role.replace("_", " ")) for role in ROLES}

    def __repr__(self) -> str:
        return f"OAuth1Auth(env={self.env})"

    def sign(self, method: str, url: str) -> Mapping[str, str]:
        # No body is passed: only a form-encoded body is part of an OAuth 1.0a signature, and Magento's JSON
        # bodies are not (oauthlib would otherwise add an oauth_body_hash that Magento does not expect).
        # (cast: the stubs want a Literal of HTTP methods)
        _, headers, _ = self._client.sign(url, http_method=cast(Any, method.upper()))
        return {"Authorization": headers["Authorization"]}

    def explain(self, status: int, body: Any) -> str | None:
        return explain(self, status, body)


class BearerAuth:
    """The integration access token sent as a bearer token (needs the store setting described above)."""

    kind: AuthKind = "bearer"

    def __init__(self, token: str, token_env: str = "the bearer token") -> None:
        self._header = {"Authorization": f"Bearer {token}"}
        self.env = {"token": token_env}

    def __repr__(self) -> str:
        return f"BearerAuth(env={self.env})"

    def sign(self, method: str, url: str) -> Mapping[str, str]:
        return self._header

    def explain(self, status: int, body: Any) -> str | None:
        return explain(self, status, body)


MagentoAuth = OAuth1Auth | BearerAuth


def magento_auth(
    kind: AuthKind, env_names: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> MagentoAuth:
    """Read the secrets for `kind` from the environment; name every missing variable at once."""
    environ = os.environ if environ is None else environ
    found = {name: secret_value(name, environ) for name in env_names.values()}
    missing = [name for name, value in found.items() if not value]
    if missing:
        raise Fatal(
            f"secret missing: set the environment variable{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (storefront.auth = {kind!r})"
        )
    values = {role: str(found[name]) for role, name in env_names.items()}
    if kind == "bearer":
        return BearerAuth(values["token"], env_names["token"])
    return OAuth1Auth(**values, env=env_names)


# Magento's own messages (magento/magento2: Framework/Oauth/Oauth.php, Integration/Model/Oauth/Token/
# Provider.php, Integration/Model/Oauth/Nonce/Generator.php), matched on the raw text Magento answers
# with its %placeholders unfilled. Older wordings ("Invalid signature", "Token is not the correct length")
# are kept so that older stores are diagnosed too.
_CONSUMER_KEY = (
    "Consumer key is not the correct length",
    "A consumer having the specified key does not exist",
)
_ACCESS_TOKEN = (
    "The token length is invalid. Check the length and try again.",
    "Token is not the correct length",
    "Specified token does not exist",
    "Token is not an access token",
)
_SIGNATURE = ("The signature is invalid. Verify and try again.", "Invalid signature")
_NOT_AUTHORISED = (
    "The consumer isn't authorized to access %resources.",
    "Consumer is not authorized to access %resources",
)


def _message(body: Any) -> tuple[str, Any]:
    if isinstance(body, dict):
        return str(body.get("message") or ""), body.get("parameters")
    return "", None


def explain(auth: MagentoAuth, status: int, body: Any) -> str | None:
    """Which secret (by its environment variable) Magento's refusal points at, or None if it is no refusal
    of credentials (a 400 for a bad searchCriteria stays the connector's business)."""
    if status not in (400, 401, 403):
        return None
    message, parameters = _message(body)
    said = f'Magento answered "{message}"'
    env = auth.env
    if auth.kind == "bearer":
        if message in _NOT_AUTHORISED or status in (401, 403):
            resources = parameters.get("resources") if isinstance(parameters, dict) else None
            return (
                f"the bearer token in {env['token']} was refused ({said}): the token is wrong, the "
                f"integration may not read {resources or 'this resource'}, or this Magento (2.4.4 and "
                "later) does not accept integration tokens as bearer tokens; then set "
                'storefront.auth = "oauth1" with the integration\'s four values'
            )
        return None
    if message in _CONSUMER_KEY:
        return f"the consumer key in {env['consumer_key']} is wrong ({said})"
    if message in _ACCESS_TOKEN:
        return f"the access token in {env['access_token']} is wrong ({said})"
    if message == "Token is not associated with the specified consumer":
        return (
            f"the access token in {env['access_token']} belongs to another integration than the consumer key "
            f"in {env['consumer_key']}: one of them is wrong ({said})"
        )
    if message == "Access token has been revoked":
        return f"the access token in {env['access_token']} was revoked: reauthorise the integration ({said})"
    if message in _SIGNATURE:
        return (
            f"the consumer secret in {env['consumer_secret']} or the access token secret in "
            f"{env['access_token_secret']} is wrong: Magento does not say which ({said}). If both are right, "
            "Magento sees another URL than storefront.base_url (a proxy changing http/https or the host)"
        )
    if message.startswith("The nonce is already being used"):
        return f"Magento refused a nonce it had seen: a replayed request ({said})"
    if message == "Incorrect timestamp value in the oauth_timestamp parameter":
        return f"this machine's clock is more than 10 minutes away from Magento's ({said})"
    if message in _NOT_AUTHORISED:
        resources = parameters.get("resources") if isinstance(parameters, dict) else None
        return (
            "Magento accepted the signature but the integration may not read "
            f"{resources or 'this resource'}: activate the integration and give it that resource under "
            f"System > Extensions > Integrations > API ({said})"
        )
    if status in (401, 403):
        return f"Magento refused the OAuth credentials ({said})"
    return None
