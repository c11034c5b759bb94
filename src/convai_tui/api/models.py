"""Pydantic models for the ElevenLabs ConvAI resources convai-tui touches.

Field names follow the official ``elevenlabs`` SDK (2.78.0) types. Every model:

* tolerates and keeps unknown fields (``extra="allow"``): the real API grows;
* types enum-like fields as plain ``str`` so unknown values (a new ``llm``, a new
  ``status``) never fail validation; the known values are listed as constants;
* round-trips: ``Model.model_validate(payload).to_wire() == payload`` for any payload
  whose values are JSON (``to_wire`` dumps only the fields that were set).

This module imports no Textual and no httpx: the emulator and the workspace reuse it.
Annotations are real objects, not strings (no ``from __future__ import annotations``): pydantic
would otherwise evaluate every field's annotation string when each class is created, a
measurable part of start-up.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Known enum values (informational: fields accept any string).
CALL_SUCCESS_VALUES = ("success", "failure", "unknown")
CONVERSATION_STATUSES = ("initiated", "in-progress", "processing", "done", "failed")
TEST_RUN_STATUSES = ("pending", "passed", "failed", "cancelled")
TEST_TYPES = ("llm", "tool", "simulation")
TERMINAL_RUN_STATUSES = frozenset({"passed", "failed", "cancelled"})


class APIModel(BaseModel):
    """Base: keep unknown fields, accept field names, validate on assignment off (fast)."""

    # defer_build: schemas are built on first use, not at import (keeps start-up fast).
    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=(), defer_build=True)

    def to_wire(self) -> dict[str, Any]:
        """JSON-ready dict of exactly the fields that were set (plus unknown ones)."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)

    @property
    def extra_fields(self) -> dict[str, Any]:
        return dict(self.__pydantic_extra__ or {})


# --------------------------------------------------------------------------- transcript
class ToolCall(APIModel):
    request_id: str
    tool_name: str
    params_as_json: str = "{}"
    tool_has_been_called: bool = True
    type: str | None = None
    tool_id: str | None = None


class ToolResult(APIModel):
    request_id: str
    tool_name: str
    result_value: str = ""
    is_error: bool = False
    tool_has_been_called: bool = True
    type: str | None = None
    tool_id: str | None = None
    tool_latency_secs: float | None = None


class UserFeedback(APIModel):
    score: str  # like | dislike
    time_in_call_secs: int = 0


class TranscriptTurn(APIModel):
    role: str  # user | agent
    message: str | None = None
    time_in_call_secs: int = 0
    tool_calls: list[ToolCall] | None = None
    tool_results: list[ToolResult] | None = None
    feedback: UserFeedback | None = None
    interrupted: bool | None = None
    original_message: str | None = None
    source_medium: str | None = None


# --------------------------------------------------------------------------- analysis
class EvaluationCriteriaResult(APIModel):
    criteria_id: str
    result: str  # success | failure | unknown
    rationale: str = ""


class DataCollectionResult(APIModel):
    data_collection_id: str
    value: Any = None
    rationale: str = ""
    name: str | None = None


class ConversationAnalysis(APIModel):
    call_successful: str = "unknown"
    transcript_summary: str = ""
    call_summary_title: str | None = None
    evaluation_criteria_results: dict[str, EvaluationCriteriaResult] | None = None
    data_collection_results: dict[str, DataCollectionResult] | None = None


# --------------------------------------------------------------------------- agents
class KnowledgeBaseLocator(APIModel):
    type: str = "text"
    name: str = ""
    id: str = ""
    usage_mode: str | None = None


class PromptConfig(APIModel):
    prompt: str = ""
    llm: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    tool_ids: list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    knowledge_base: list[KnowledgeBaseLocator] | None = None


class AgentSettings(APIModel):
    first_message: str | None = None
    language: str | None = None
    dynamic_variables: dict[str, Any] | None = None
    prompt: PromptConfig | None = None


class ConversationConfig(APIModel):
    agent: AgentSettings | None = None


class AgentMetadata(APIModel):
    created_at_unix_secs: int = 0
    updated_at_unix_secs: int = 0


class Agent(APIModel):
    agent_id: str
    name: str = ""
    conversation_config: ConversationConfig = Field(default_factory=ConversationConfig)
    metadata: AgentMetadata | None = None
    platform_settings: dict[str, Any] | None = None
    tags: list[str] | None = None
    version_id: str | None = None
    branch_id: str | None = None
    main_branch_id: str | None = None

    # Convenience accessors (read-only views over the nested config).
    @property
    def prompt(self) -> PromptConfig:
        agent = self.conversation_config.agent or AgentSettings()
        return agent.prompt or PromptConfig()

    @property
    def first_message(self) -> str:
        agent = self.conversation_config.agent
        return (agent.first_message if agent else None) or ""

    @property
    def language(self) -> str:
        agent = self.conversation_config.agent
        return (agent.language if agent else None) or "en"

    @property
    def attached_test_ids(self) -> list[str]:
        testing = (self.platform_settings or {}).get("testing") or {}
        return [t["test_id"] for t in testing.get("attached_tests") or [] if isinstance(t, dict) and "test_id" in t]

    @property
    def evaluation_criteria(self) -> list[dict[str, Any]]:
        ev = (self.platform_settings or {}).get("evaluation") or {}
        return [c for c in ev.get("criteria") or [] if isinstance(c, dict)]


class AgentSummary(APIModel):
    agent_id: str
    name: str = ""
    tags: list[str] = Field(default_factory=list)
    created_at_unix_secs: int = 0
    updated_at_unix_secs: int | None = None
    last_call_time_unix_secs: int | None = None
    archived: bool | None = None


class AgentsPage(APIModel):
    agents: list[AgentSummary]
    next_cursor: str | None = None
    has_more: bool = False


class AgentUpdate(APIModel):
    """Body of PATCH /v1/convai/agents/{id}: every field optional (partial update)."""

    conversation_config: ConversationConfig | None = None
    platform_settings: dict[str, Any] | None = None
    name: str | None = None
    tags: list[str] | None = None
    version_description: str | None = None


# --------------------------------------------------------------------------- branches
class AgentVersionParents(APIModel):
    in_branch_parent_id: str | None = None
    out_of_branch_parent_id: str | None = None
    merged_into_branch_id: str | None = None
    merged_from_branch_id: str | None = None
    merged_from_version_id: str | None = None
    rebased_from_version_id: str | None = None


class AgentVersionMetadata(APIModel):
    """A commit: ``GET agents/{id}/versions/{version_id}`` and a branch's ``most_recent_versions``."""

    id: str
    agent_id: str = ""
    branch_id: str = ""
    version_description: str = ""
    seq_no_in_branch: int = 0
    time_committed_secs: int = 0
    parents: AgentVersionParents = Field(default_factory=AgentVersionParents)


class Branch(APIModel):
    """``AgentBranchSummary`` (list) and ``AgentBranchResponse`` (get: with ``most_recent_versions``)."""

    id: str
    name: str
    agent_id: str = ""
    description: str = ""
    created_at: int = 0
    last_committed_at: int = 0
    is_archived: bool = False
    protection_status: str | None = None
    current_live_percentage: float | None = None
    parent_branch_id: str | None = None
    parent_branch: dict[str, Any] | None = None  # {id, name} (get)
    draft_exists: bool | None = None
    calls_7d: int | None = None
    commits_ahead: int | None = None
    commits_behind: int | None = None
    merged_into_branch_id: str | None = None
    most_recent_versions: list[AgentVersionMetadata] | None = None


class BranchesPage(APIModel):
    results: list[Branch]
    meta: dict[str, Any] | None = None


class BranchCreate(APIModel):
    parent_version_id: str
    name: str = Field(min_length=1, max_length=140)
    description: str = Field("", max_length=4096)  # required by the API: always sent
    conversation_config: ConversationConfig | None = None
    platform_settings: dict[str, Any] | None = None
    include_draft: bool | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"description": self.description, **super().to_wire()}


class BranchCreated(APIModel):
    created_branch_id: str
    created_version_id: str


class BranchMerge(APIModel):
    archive_source_branch: bool | None = None  # the API's default is true
    force: bool | None = None


class FieldConflict(APIModel):
    path: str
    section: str
    base_value: Any = None
    source_value: Any = None
    target_value: Any = None


class MergePreview(Agent):
    """The agent as it would be after a merge (``MergePreviewResponseModel``)."""

    overridden_fields: list[str] | None = None
    conflicts: list[FieldConflict] | None = None
    source_identical_to_target: bool | None = None


# --------------------------------------------------------------------------- simulation
class SimulatedUserConfig(APIModel):
    first_message: str | None = None
    language: str | None = None
    dynamic_variables: dict[str, Any] | None = None
    prompt: PromptConfig | None = None


class ToolMockConfig(APIModel):
    default_return_value: str = "Tool Called."
    default_is_error: bool = False


class SimulationSpecification(APIModel):
    simulated_user_config: SimulatedUserConfig
    tool_mock_config: dict[str, ToolMockConfig] | None = None
    partial_conversation_history: list[TranscriptTurn] | None = None
    dynamic_variables: dict[str, Any] | None = None


class EvaluationCriterion(APIModel):
    """``PromptEvaluationCriteria`` in the SDK."""

    id: str
    name: str = ""
    conversation_goal_prompt: str
    use_knowledge_base: bool = False
    type: str | None = None


class SimulationRequest(APIModel):
    simulation_specification: SimulationSpecification
    extra_evaluation_criteria: list[EvaluationCriterion] | None = None
    new_turns_limit: int | None = Field(default=None, ge=1, le=10000)


class SimulationResponse(APIModel):
    simulated_conversation: list[TranscriptTurn]
    analysis: ConversationAnalysis


# --------------------------------------------------------------------------- conversations
class ConversationSummary(APIModel):
    conversation_id: str
    agent_id: str
    agent_name: str | None = None
    branch_id: str | None = None
    version_id: str | None = None
    start_time_unix_secs: int = 0
    call_duration_secs: int = 0
    message_count: int = 0
    status: str = "done"
    call_successful: str = "unknown"
    transcript_summary: str | None = None
    call_summary_title: str | None = None
    main_language: str | None = None
    tool_names: list[str] | None = None
    direction: str | None = None
    rating: float | None = None
    termination_reason: str | None = None
    sentiment_analysis: dict[str, Any] | None = None
    evaluation_criteria_results: dict[str, Any] | None = None  # with evaluation_criteria_ids=
    data_collection_results: dict[str, Any] | None = None  # with data_collection_ids=


class ConversationsPage(APIModel):
    conversations: list[ConversationSummary]
    next_cursor: str | None = None
    has_more: bool = False


class ConversationFeedbackSummary(APIModel):
    overall_score: str | None = None
    likes: int = 0
    dislikes: int = 0
    rating: float | None = None
    comment: str | None = None


class ConversationMetadata(APIModel):
    start_time_unix_secs: int = 0
    call_duration_secs: int = 0
    cost_fiat: float | None = None
    main_language: str | None = None
    termination_reason: str | None = None
    feedback: ConversationFeedbackSummary | None = None


class Conversation(APIModel):
    conversation_id: str
    agent_id: str
    agent_name: str | None = None
    status: str = "done"
    transcript: list[TranscriptTurn] = Field(default_factory=list)
    metadata: ConversationMetadata = Field(default_factory=ConversationMetadata)
    analysis: ConversationAnalysis | None = None
    branch_id: str | None = None
    version_id: str | None = None
    has_audio: bool = False
    has_user_audio: bool = False
    has_response_audio: bool = False


class ConversationFeedback(APIModel):
    feedback: str | None  # like | dislike | null (clears)


class MessageSearchResult(APIModel):
    conversation_id: str
    agent_id: str
    agent_name: str | None = None
    transcript_index: int = 0
    chunk_text: str = ""
    score: float = 0.0
    conversation_start_time_unix_secs: int = 0


class MessageSearchPage(APIModel):
    results: list[MessageSearchResult]
    next_cursor: str | None = None
    has_more: bool = False
    meta: dict[str, Any] | None = None


# --------------------------------------------------------------------------- agent tests
class ResponseExample(APIModel):
    response: str
    type: str  # success | failure


class ReferencedTool(APIModel):
    id: str
    type: str = "webhook"


class ToolParameterEval(APIModel):
    type: str  # exact | regex | llm | anything
    expected_value: str | None = None
    pattern: str | None = None
    description: str | None = None


class ToolCallParameter(APIModel):
    path: str
    eval: ToolParameterEval


class ToolCallParameters(APIModel):
    referenced_tool: ReferencedTool | None = None
    parameters: list[ToolCallParameter] | None = None
    verify_absence: bool | None = None


class FromConversationMetadata(APIModel):
    conversation_id: str
    agent_id: str
    branch_id: str | None = None
    original_agent_reply: list[TranscriptTurn] | None = None


class SimulationToolMockBehavior(APIModel):
    mocking_strategy: str | None = None  # all | selected | none
    fallback_strategy: str | None = None
    mocked_tool_ids: list[str] | None = None


class ToolResponseMock(APIModel):
    mock_result: str
    is_error: bool | None = None
    parameter_conditions: list[ToolCallParameter] | None = None


class AgentTestBody(APIModel):
    """The create/update body (and, with ``id``, the GET response) of an agent test.

    One flat model for the three ``type`` variants (llm, tool, simulation): the fields
    of the other variants stay unset and are not sent.
    """

    name: str = Field(min_length=1)
    type: str = "llm"
    chat_history: list[TranscriptTurn] | None = None
    dynamic_variables: dict[str, Any] | None = None
    from_conversation_metadata: FromConversationMetadata | None = None
    parent_folder_id: str | None = None
    # llm
    success_condition: str | None = None
    success_examples: list[ResponseExample] | None = None
    failure_examples: list[ResponseExample] | None = None
    # tool
    tool_call_parameters: ToolCallParameters | None = None
    check_any_tool_matches: bool | None = None
    # simulation
    success_conditions: list[str] | None = None
    simulation_scenario: str | None = None
    simulation_max_turns: int | None = Field(default=None, ge=1, le=50)  # the published API's maximum
    tool_mock_config: SimulationToolMockBehavior | None = None
    tool_mock_overrides: dict[str, list[ToolResponseMock]] | None = None
    simulated_user_model: str | None = None
    evaluation_model: str | None = None


class AgentTest(AgentTestBody):
    id: str


class AgentTestSummary(APIModel):
    id: str
    name: str
    type: str = "llm"
    created_at_unix_secs: int = 0
    last_updated_at_unix_secs: int = 0


class TestSummaries(APIModel):
    """``POST agent-testing/summaries``: test id -> summary."""

    tests: dict[str, AgentTestSummary]


class AgentTestsPage(APIModel):
    tests: list[AgentTestSummary]
    next_cursor: str | None = None
    has_more: bool = False


class CreatedId(APIModel):
    id: str


# --------------------------------------------------------------------------- run-tests
class TestRef(APIModel):
    test_id: str
    workflow_node_id: str | None = None


class AgentConfigOverride(APIModel):
    conversation_config: ConversationConfig | None = None
    platform_settings: dict[str, Any] | None = None
    workflow: dict[str, Any] | None = None


class RunTestsRequest(APIModel):
    tests: list[TestRef] = Field(min_length=1)
    branch_id: str | None = None
    agent_config_override: AgentConfigOverride | None = None
    repeat_count: int | None = Field(default=None, ge=1, le=20)
    name: str | None = None  # SDK 2.78.0 (not in the published document)


class ConditionRationale(APIModel):
    messages: list[str] | None = None
    summary: str | None = None


class ConditionResult(APIModel):
    result: str  # success | failure | unknown
    rationale: ConditionRationale | None = None


class TestRun(APIModel):
    test_run_id: str
    test_invocation_id: str = ""
    agent_id: str = ""
    branch_id: str | None = None
    version_id: str | None = None
    ran_against_draft: bool | None = None
    test_id: str
    test_name: str | None = None
    status: str = "pending"
    agent_responses: list[TranscriptTurn] | None = None
    condition_result: ConditionResult | None = None
    test_info: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    last_updated_at_unix: int | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_RUN_STATUSES


class ResultBucket(APIModel):
    test_run_ids: list[str]
    title: str = ""
    reason: str = ""
    status: str = "pending"


class ResultGroup(APIModel):
    test_id: str
    test_name: str = ""
    buckets: list[ResultBucket] = Field(default_factory=list)


class TestInvocation(APIModel):
    id: str
    agent_id: str | None = None
    branch_id: str | None = None
    version_id: str | None = None
    name: str | None = None
    created_at: int | None = None
    repeat_count: int | None = None
    cancelled: bool | None = None
    ran_against_draft: bool | None = None
    bucketing_status: str | None = None
    result_groups: list[ResultGroup] | None = None
    test_runs: list[TestRun] = Field(default_factory=list)

    @property
    def is_finished(self) -> bool:
        return all(run.is_terminal for run in self.test_runs)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in TEST_RUN_STATUSES}
        for run in self.test_runs:
            out[run.status] = out.get(run.status, 0) + 1
        return out


class TestInvocationSummary(APIModel):
    """An item of the run history (``TestInvocationSummaryResponseModel``)."""

    id: str
    title: str = ""
    agent_id: str | None = None
    branch_id: str | None = None
    version_id: str | None = None
    ran_against_draft: bool = False
    runs_diverged_from_version: bool | None = None
    created_at_unix_secs: int = 0
    test_run_count: int = 0
    passed_count: int = 0
    failed_count: int = 0
    pending_count: int = 0
    repeat_count: int = 1
    cancelled_count: int = 0  # SDK 2.78.0 (not in the published document)
    cancelled: bool | None = None  # SDK 2.78.0 (not in the published document)


class TestInvocationsPage(APIModel):
    results: list[TestInvocationSummary]
    next_cursor: str | None = None
    has_more: bool = False
    meta: dict[str, Any] | None = None


class ResubmitRequest(APIModel):
    test_run_ids: list[str] = Field(min_length=1)
    agent_id: str
    branch_id: str | None = None
    agent_config_override: AgentConfigOverride | None = None


# --------------------------------------------------------------------------- errors
class ValidationErrorItem(APIModel):
    loc: list[str | int]
    msg: str
    type: str


def prompt_patch(
    prompt: str | None = None,
    *,
    first_message: str | None = None,
    llm: str | None = None,
    temperature: float | None = None,
    language: str | None = None,
) -> ConversationConfig:
    """A partial ``conversation_config`` that sets only the given prompt fields."""
    p: dict[str, Any] = {}
    if prompt is not None:
        p["prompt"] = prompt
    if llm is not None:
        p["llm"] = llm
    if temperature is not None:
        p["temperature"] = temperature
    agent: dict[str, Any] = {}
    if p:
        agent["prompt"] = p
    if first_message is not None:
        agent["first_message"] = first_message
    if language is not None:
        agent["language"] = language
    return ConversationConfig.model_validate({"agent": agent})


# Classes whose names start with "Test" are API resources, not pytest test classes.
for _cls in (TestRef, TestRun, TestInvocation, TestInvocationSummary, TestInvocationsPage, TestSummaries):
    _cls.__test__ = False  # type: ignore[attr-defined]
