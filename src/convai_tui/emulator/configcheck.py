"""Is an agent config one the emulator can serve? What the brain reads must have the published
API's types (a prompt is a string, a criterion has an id, ...): anything else is a 422, never a
crash. In strict mode the whole config is also checked against the document's input schemas."""

from __future__ import annotations

from typing import Any, Callable

from pydantic import ValidationError

from ..api.models import ConversationConfig
from .errors import APIError, error_items
from .routes.bodies import Body


class _Criterion(Body):
    id: str
    name: str
    conversation_goal_prompt: str


class _Evaluation(Body):
    criteria: list[_Criterion] | None = None


class _Attached(Body):
    test_id: str


class _Testing(Body):
    attached_tests: list[_Attached] | None = None


class _Settings(Body):
    evaluation: _Evaluation | None = None
    data_collection: dict[str, dict[str, Any]] | None = None
    testing: _Testing | None = None


def check_config(config: dict[str, Any], settings: dict[str, Any], loc: list[Any], *,
                 strict: Callable[[Any, str], list[str]] | None = None) -> None:
    """Raise a 422 (``loc`` + the path) unless ``config``/``settings`` are servable."""
    errs: list[dict[str, Any]] = []
    for value, model, name in ((config, ConversationConfig, "conversation_config"),
                               (settings, _Settings, "platform_settings")):
        try:
            model.model_validate(value)
        except ValidationError as exc:
            for e in error_items(exc.errors()):
                errs.append({**e, "loc": [*loc, name, *e["loc"]], "type": "value_error"})
    if not errs and strict is not None:
        for value, schema, name in ((config, "ConversationalConfigAPIModel-Input", "conversation_config"),
                                    (settings, "AgentPlatformSettingsRequestModel", "platform_settings")):
            for msg in strict(value, schema):
                errs.append({"loc": [*loc, name], "msg": msg, "type": "value_error"})
    if errs:
        raise APIError(422, errs[:10])
