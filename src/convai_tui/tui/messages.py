"""App-level messages: panes and screens post these upwards; the app (which owns the panes) acts.
No pane imports the app class or another pane."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class OpenTranscript(Message):
    """Show a conversation (optionally at a turn, optionally with a search term highlighted)."""

    def __init__(self, conversation_id: str, turn: int | None = None, search: str = "") -> None:
        super().__init__()
        self.conversation_id, self.turn, self.search = conversation_id, turn, search


class FeedbackChanged(Message):
    """A conversation was liked/disliked (the list shows it at once)."""

    def __init__(self, conversation_id: str, value: str | None) -> None:
        super().__init__()
        self.conversation_id, self.value = conversation_id, value


class UseAsHistory(Message):
    """Make these turns the partial history of the current simulation scenario."""

    def __init__(self, turns: list[dict[str, Any]], conversation_id: str) -> None:
        super().__init__()
        self.turns, self.conversation_id = turns, conversation_id


class AgentChanged(Message):
    """The agent's remote side changed (a test was created or attached, a branch made or merged, a
    push): reload it everywhere."""

    def __init__(self, agent_id: str) -> None:
        super().__init__()
        self.agent_id = agent_id


class ShowPane(Message):
    """Bring a pane to the front (and focus it)."""

    def __init__(self, pane: str) -> None:
        super().__init__()
        self.pane = pane


class ShowHistory(Message):
    """Open the run history of an agent."""

    def __init__(self, agent_id: str) -> None:
        super().__init__()
        self.agent_id = agent_id


class ShowMatrix(Message):
    """Open the test x version matrix of an agent."""

    def __init__(self, agent_id: str) -> None:
        super().__init__()
        self.agent_id = agent_id


class CopyText(Message):
    """Put this text on the clipboard (OSC 52); ``what`` names it in the notification ("the prompt")."""

    def __init__(self, text: str, what: str) -> None:
        super().__init__()
        self.text, self.what = text, what
