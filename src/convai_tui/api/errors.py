"""Typed errors raised by :class:`convai_tui.api.client.ConvAIClient`.

Every message says what happened and what to do about it, and goes through one boundary
in :class:`ConvAIError`, whoever raises it:

* **redaction**: the API key of every client built in this process (see
  :func:`register_secret`) is removed from the message, the 422 ``errors`` and the ``body``,
  in any form the server may echo it: whole, quoted, JSON- or URL-escaped, or any fragment of
  8 or more characters (``'sk_9f3c2a7e…'``, a prefix, a suffix);
* **terminal safety**: the message is made safe with :func:`convai_tui.textutil.safe` (no
  escape sequence the server sent reaches a terminal; printing it can never raise);
* **bounded length**: server text is cut (``MAX_MESSAGE`` characters a message, 50 entries of
  a 422 list, ``MAX_DETAIL`` characters each).
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from urllib.parse import quote

from ..textutil import safe

MAX_MESSAGE = 2000  # characters of a whole message
MAX_DETAIL = 300  # characters of one piece of server text inside a message
MAX_ERRORS = 50  # entries of a 422 detail list kept
_FRAGMENT = 8  # a run of this many characters of a key is redacted wherever it appears
MASK = "***"

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()
_pattern: re.Pattern[str] | None = None


def register_secret(secret: str | None) -> None:
    """Redact ``secret`` from every error from now on (the client registers its key).

    Keys shorter than 8 characters are only redacted by the client that holds them (a
    fragment that short would mask ordinary words)."""
    global _secrets, _pattern
    if not secret or len(secret) < _FRAGMENT or secret in _secrets:
        return
    with _lock:
        if secret not in _secrets:
            _secrets = (*_secrets, secret)
            _pattern = _build(_secrets)


def _forms(secret: str) -> set[str]:
    out = {secret, quote(secret, safe=""), json.dumps(secret)[1:-1], repr(secret)[1:-1]}
    return {f for f in out if f}


def _build(secrets: tuple[str, ...]) -> re.Pattern[str]:
    """A pattern that matches, at every position, the longest known form or 8-character
    fragment of a secret starting there (as a lookahead, so overlapping hits are all found)."""
    alts: set[str] = set()
    for s in secrets:
        alts |= _forms(s)
        alts |= {s[i:i + _FRAGMENT] for i in range(len(s) - _FRAGMENT + 1)}
    ordered = sorted(alts, key=len, reverse=True)
    return re.compile("(?=(" + "|".join(re.escape(a) for a in ordered) + "))")


def _mask(pat: re.Pattern[str], text: str) -> str:
    spans: list[list[int]] = []
    for m in pat.finditer(text):
        a, b = m.start(1), m.end(1)
        if spans and a <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], b)
        else:
            spans.append([a, b])
    if not spans:
        return text
    out, pos = [], 0
    for a, b in spans:
        out.append(text[pos:a])
        out.append(MASK)
        pos = b
    out.append(text[pos:])
    return "".join(out)


def redact(text: str, secret: str | None = None) -> str:
    """``text`` without ``secret`` nor any registered key (see the module docstring)."""
    if not text:
        return text
    if not isinstance(text, str):
        text = str(text)
    if secret:
        if len(secret) >= _FRAGMENT:
            if secret not in _secrets:
                text = _mask(_build((secret,)), text)
        else:
            for form in _forms(secret):
                text = text.replace(form, MASK)
    pat = _pattern
    if pat is not None:
        text = _mask(pat, text)
    return text


def redact_value(value: Any, secret: str | None = None, _depth: int = 0) -> Any:
    """A JSON-like value with every string (keys too) redacted; deep values are cut."""
    if isinstance(value, str):
        return redact(value, secret)
    if _depth > 64:
        return "(nested too deeply)"
    if isinstance(value, dict):
        return {redact_value(k, secret, _depth + 1): redact_value(v, secret, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v, secret, _depth + 1) for v in value]
    return value


def bounded(text: Any, limit: int = MAX_DETAIL) -> str:
    """Server text for a message: a string, redacted, at most ``limit`` characters."""
    try:
        s = text if isinstance(text, str) else str(text)
    except Exception:  # RecursionError on a deep value, a hostile __str__
        s = f"<{type(text).__name__}>"
    if len(s) > 2 * limit + 64:
        s = s[: 2 * limit + 64]
    s = redact(s)  # before cutting: a cut must not leave the start of a key visible
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _scrub(message: Any) -> str:
    return safe(bounded(message, MAX_MESSAGE), tabs=1)


class ConvAIError(Exception):
    """Base class of every error the client raises."""

    hint: str = ""

    def __init__(self, message: str, *, status_code: int | None = None, body: Any = None):
        self.message = _scrub(message)
        self.status_code = status_code
        self.body = redact_value(body) if body is not None else None
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message


class ConfigError(ConvAIError):
    """The client cannot be built as configured (no key, a key that cannot be sent, bad base URL)."""


class InvalidRequestError(ConvAIError, ValueError):
    """A request cannot be built from what was given (an id such as ``..``, text that is not
    valid Unicode, NaN in a body). Nothing was sent."""


class APIConnectionError(ConvAIError):
    hint = "Check the base URL and your network, or run with --demo to use the offline emulator."


class APITimeoutError(APIConnectionError):
    hint = "The server did not answer in time; it may be overloaded. Try again, or raise the timeout."


class DeadlineExceeded(APITimeoutError):
    """The caller's deadline (``client.deadline(...)``, ``poll_invocation(timeout=...)``) passed,
    across retries and back-offs, or the server asked to wait longer than the time left."""

    hint = "Raise the timeout if the server is slow."


class APIStatusError(ConvAIError):
    """The server answered with an error status."""


class AuthenticationError(APIStatusError):
    hint = "Set a valid key in ELEVENLABS_API_KEY (or pass --api-key-file)."


class PermissionDeniedError(APIStatusError):
    hint = "The key is valid but lacks permission for this resource: check its scopes in the dashboard."


class NotFoundError(APIStatusError):
    hint = "Check the id; it may have been deleted or belong to another workspace."


class ConflictError(APIStatusError):
    hint = "Someone changed this resource; pull and try again."


def _clean_entry(err: Any) -> dict[str, Any]:
    """One 422 ``detail`` entry as ``{"loc": [str|int...], "msg": str, "type": str}``, bounded."""
    if not isinstance(err, dict):
        return {"loc": [], "msg": bounded(err), "type": "value_error"}
    loc = err.get("loc", [])
    if not isinstance(loc, (list, tuple)):
        loc = [loc]
    loc = [p if isinstance(p, int) and not isinstance(p, bool) else bounded(p, 80) for p in list(loc)[:20]]
    return {"loc": loc, "msg": bounded(err.get("msg", "")), "type": bounded(err.get("type", "value_error"), 80)}


class ValidationError(APIStatusError):
    """422: the request body or parameters were rejected. ``errors`` is the ``detail`` list
    (each entry with ``loc``, ``msg``, ``type``; at most 50, redacted and bounded)."""

    def __init__(self, message: str, *, errors: list[Any], **kw: Any):
        super().__init__(message, **kw)
        errs = errors if isinstance(errors, list) else [errors]
        self.errors = [_clean_entry(e) for e in errs[:MAX_ERRORS]]
        self.more_errors = max(0, len(errs) - MAX_ERRORS)

    def __str__(self) -> str:
        lines = [self.message]
        for err in self.errors:
            loc = ".".join(str(p) for p in err["loc"] if p != "body")
            lines.append(f"  - {loc or '(request)'}: {err['msg']}")
        if self.more_errors:
            lines.append(f"  (and {self.more_errors} more)")
        return safe(redact("\n".join(lines)), tabs=1)


class RateLimitError(APIStatusError):
    hint = "Rate limited: wait a little and try again, or lower the concurrency."

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    hint = "The server failed; this is usually temporary. Try again in a moment."


class ResponseTooLarge(APIStatusError):
    """The response (decompressed) is larger than the client accepts (``max_response_bytes``)."""

    hint = "If this much data is expected, raise the client's max_response_bytes."


class ResponseDecodeError(APIStatusError):
    """The response body cannot be decoded (corrupt or unsupported Content-Encoding)."""


class PaginationError(APIStatusError):
    """A cursor list that never ends: the same cursor again, or empty pages that say there is more."""

    hint = "The server's pagination is broken; the items received so far were kept."


class StreamInterrupted(ConvAIError):
    """A streaming response ended before its final message.

    ``partial`` holds the turns received before the cut, so nothing is lost.
    """

    def __init__(self, message: str, *, partial: list[Any] | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.partial = list(partial or [])


class StreamProtocolError(ConvAIError):
    """The stream carried bytes that are not JSON in any accepted framing (or a value longer
    than the decoder accepts)."""


class EndpointGone(APIStatusError):
    """The endpoint answered 404/405/410: the server no longer offers it."""
