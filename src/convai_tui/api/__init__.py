"""Typed async access to the ElevenLabs ConvAI API. Imports no Textual."""

from .client import ConvAIClient
from .errors import (
    APIConnectionError,
    AuthenticationError,
    ConfigError,
    ConvAIError,
    EndpointGone,
    NotFoundError,
    RateLimitError,
    ServerError,
    StreamInterrupted,
    ValidationError,
)

__all__ = [
    "ConvAIClient", "ConvAIError", "ConfigError", "APIConnectionError", "AuthenticationError", "NotFoundError",
    "ValidationError", "RateLimitError", "ServerError", "StreamInterrupted", "EndpointGone",
]
