"""Request bodies as the emulator reads them: as loose as the published document (a body the
document accepts is never refused for its shape; strict mode then refuses what the document does not
define), typed where the emulator relies on a field. Business rules answer 422 with type
``value_error``; a shape the document forbids answers pydantic's own error types.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="allow", protected_namespaces=())

    def set_fields(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


Obj = dict[str, Any]


class Turn(Body):
    role: str
    message: str | None = None
    time_in_call_secs: int = 0


class AgentPatch(Body):
    conversation_config: Obj | None = None
    platform_settings: Obj | None = None
    workflow: Any = None
    name: str | None = None
    tags: list[str] | None = None
    version_description: str | None = None
    procedures: Any = None


class BranchCreate(Body):
    parent_version_id: str
    name: str = Field(max_length=140)
    description: str = Field(max_length=4096)
    conversation_config: Obj | None = None
    platform_settings: Obj | None = None
    workflow: Obj | None = None
    include_draft: bool = False


class BranchUpdate(Body):
    name: str | None = Field(None, min_length=1, max_length=140)
    is_archived: bool | None = None
    protection_status: Literal["writer_perms_required", "admin_perms_required"] | None = None


class BranchMerge(Body):
    archive_source_branch: bool = True  # the document's default
    force: bool = False


class PercentageStrategy(Body):
    type: Literal["percentage"] = "percentage"
    traffic_percentage: float = Field(ge=0, le=100)


class DeploymentItem(Body):
    branch_id: str
    deployment_strategy: PercentageStrategy


class DeploymentRequest(Body):
    requests: list[DeploymentItem]


class Deployments(Body):
    deployment_request: DeploymentRequest


class DraftCreate(Body):
    conversation_config: Obj
    platform_settings: Obj
    workflow: Obj
    name: str
    tags: list[str] | None = None


class UserConfig(Body):
    first_message: str | None = None
    language: str | None = None
    prompt: Obj | None = None


class ToolMock(Body):
    default_return_value: str = "Tool Called."
    default_is_error: bool = False


class SimulationSpec(Body):
    simulated_user_config: UserConfig
    tool_mock_config: dict[str, ToolMock] | None = None
    partial_conversation_history: list[Turn] | None = None
    dynamic_variables: Obj | None = None


class Criterion(Body):
    id: str
    name: str
    conversation_goal_prompt: str = Field(max_length=2000)
    use_knowledge_base: bool = False


class Simulate(Body):
    simulation_specification: SimulationSpec
    extra_evaluation_criteria: list[Criterion] | None = None
    new_turns_limit: int = 10000


class ResponseExample(Body):
    response: str
    type: str


class TestBody(Body):
    """The three variants of the create/update body, flat (``type`` says which)."""

    name: str
    type: Literal["llm", "tool", "simulation"] = "llm"
    chat_history: list[Turn] | None = Field(None, max_length=200)
    dynamic_variables: Obj | None = None
    from_conversation_metadata: Obj | None = None
    parent_folder_id: str | None = None
    success_condition: str | None = None
    success_examples: list[ResponseExample] | None = None
    failure_examples: list[ResponseExample] | None = None
    tool_call_parameters: Obj | None = None
    check_any_tool_matches: bool | None = None
    success_conditions: list[str] | None = None
    simulation_scenario: str | None = None
    simulation_max_turns: int | None = Field(None, ge=1, le=50)
    tool_mock_config: Obj | None = None
    tool_mock_overrides: dict[str, list[Obj]] | None = None


class TestIds(Body):
    test_ids: list[str]


class TestRef(Body):
    test_id: str


class ConfigOverride(Body):
    conversation_config: Obj
    platform_settings: Obj
    workflow: Obj | None = None


class RunTests(Body):
    tests: list[TestRef] = Field(min_length=1, max_length=5000)
    agent_config_override: ConfigOverride | None = None
    branch_id: str | None = None
    repeat_count: int = Field(1, ge=1, le=50)
    name: str | None = None  # SDK 2.78.0


class Resubmit(Body):
    test_run_ids: list[str] = Field(min_length=1, max_length=5000)
    agent_config_override: ConfigOverride | None = None
    agent_id: str
    branch_id: str | None = None


class Feedback(Body):
    feedback: Literal["like", "dislike"] | None = None


class RunEvaluation(Body):
    evaluation_id: str
    scope: Literal["conversation", "agent"] = "conversation"
