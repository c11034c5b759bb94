"""Typed async access to the ElevenLabs ConvAI API. Imports no Textual.

Names are imported lazily (PEP 562) so that importing a light submodule such as
``convai_tui.api.errors`` does not pull in httpx and the pydantic models.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "ConvAIClient": "client",
    "ConvAIError": "errors", "ConfigError": "errors", "APIConnectionError": "errors",
    "AuthenticationError": "errors", "NotFoundError": "errors", "ValidationError": "errors",
    "RateLimitError": "errors", "ServerError": "errors", "StreamInterrupted": "errors", "EndpointGone": "errors",
    "APITimeoutError": "errors", "DeadlineExceeded": "errors", "InvalidRequestError": "errors",
    "ResponseTooLarge": "errors", "ResponseDecodeError": "errors", "PaginationError": "errors",
    "StreamProtocolError": "errors", "APIStatusError": "errors", "PageGuard": "guards", "Deadline": "guards",
}
__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{mod}"), name)
