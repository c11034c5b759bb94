"""The agent in use, in the top bar; a click (or ``a`` anywhere) opens the list."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from ...textutil import one_line


class AgentSwitcher(Static):
    """Lighter than a Select, and it takes no keyboard focus, so Enter always belongs to the pane."""

    class Changed(Message):
        def __init__(self, switcher: "AgentSwitcher", value: str) -> None:
            super().__init__()
            self.switcher, self.value = switcher, value

        @property
        def control(self) -> "AgentSwitcher":
            return self.switcher

    class Clicked(Message):
        """Open the agent list."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(Text("Agent… ▾", style="dim"), **kw)
        self.agents: list[tuple[str, str]] = []  # (name, id)
        self._value: str | None = None

    def set_agents(self, agents: list[tuple[str, str]]) -> None:
        self.agents = agents

    @property
    def value(self) -> str | None:
        return self._value

    @value.setter
    def value(self, agent_id: str) -> None:
        name = next((n for n, i in self.agents if i == agent_id), agent_id)
        self.update(Text(f"{one_line(name, 36)} ▾"))
        if agent_id != self._value:
            self._value = agent_id
            self.post_message(self.Changed(self, agent_id))

    def on_click(self) -> None:
        self.post_message(self.Clicked())
