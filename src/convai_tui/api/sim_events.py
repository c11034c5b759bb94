"""The updates a simulation run yields (light: importable without httpx or pydantic)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .models import SimulationResponse, TranscriptTurn


@dataclass(slots=True)
class RoadChosen:
    road: Literal["stream", "test"]
    reason: str


@dataclass(slots=True)
class NewTurns:
    turns: list["TranscriptTurn"]


@dataclass(slots=True)
class Progress:
    message: str


@dataclass(slots=True)
class Finished:
    response: "SimulationResponse"
    road: Literal["stream", "test"]


SimulationUpdate = Any  # RoadChosen | NewTurns | Progress | Finished
