"""Typed errors raised by :class:`convai_tui.api.client.ConvAIClient`.

Every message says what happened and what to do about it. None of them ever contains
the API key: :func:`redact` scrubs it from anything that came back from the server.
"""

from __future__ import annotations

from typing import Any


class ConvAIError(Exception):
    """Base class of every error the client raises."""

    hint: str = ""

    def __init__(self, message: str, *, status_code: int | None = None, body: Any = None):
        self.message = message
        self.status_code = status_code
        self.body = body
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message


class ConfigError(ConvAIError):
    """The client cannot be built as configured (no key, bad base URL)."""


class APIConnectionError(ConvAIError):
    hint = "Check the base URL and your network, or run with --demo to use the offline emulator."


class APITimeoutError(APIConnectionError):
    hint = "The server did not answer in time; it may be overloaded. Try again, or raise the timeout."


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


class ValidationError(APIStatusError):
    """422: the request body or parameters were rejected. ``errors`` is the ``detail`` list."""

    def __init__(self, message: str, *, errors: list[dict[str, Any]], **kw: Any):
        super().__init__(message, **kw)
        self.errors = errors

    def __str__(self) -> str:
        lines = [self.message]
        for err in self.errors:
            loc = ".".join(str(p) for p in err.get("loc", []) if p != "body")
            lines.append(f"  - {loc or '(request)'}: {err.get('msg', '')}")
        return "\n".join(lines)


class RateLimitError(APIStatusError):
    hint = "Rate limited: wait a little and try again, or lower the concurrency."

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    hint = "The server failed; this is usually temporary. Try again in a moment."


class StreamInterrupted(ConvAIError):
    """A streaming response ended before its final message.

    ``partial`` holds the turns received before the cut, so nothing is lost.
    """

    def __init__(self, message: str, *, partial: list[Any] | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.partial = list(partial or [])


class StreamProtocolError(ConvAIError):
    """The stream carried bytes that are not JSON in any accepted framing."""


class EndpointGone(APIStatusError):
    """The endpoint answered 404/405/410: the server no longer offers it."""


def redact(text: str, secret: str | None) -> str:
    if secret and text:
        return text.replace(secret, "***")
    return text
