"""``simulate``: run a scenario against a target, print turns as they arrive, then the analysis."""

from __future__ import annotations

import argparse
import time

from ..services.session import Session
from .output import Output, styled
from .render import print_analysis, print_turn
from .runner import EXIT_API, EXIT_FAILED, EXIT_OK, run


def cmd_simulate(args: argparse.Namespace) -> int:
    async def body(s: Session, out: Output) -> int:
        from ..api.errors import StreamInterrupted
        from ..api.sim_events import Finished, NewTurns, Progress, RoadChosen
        from ..services.simulations import verdict

        agent_id = s.agent_id(args.agent)
        scenario = s.simulations.find_scenario(agent_id, args.scenario)
        s.simulations.request_for(scenario, turns=args.turns)  # a scenario the API would refuse: say so now
        target = await s.prompts.target(agent_id, branch=args.branch, version=args.version, draft=args.draft)
        out.note("simulating “", styled(scenario.name, single_line=True), f"” against {agent_id}: ",
                 styled(target.label, "bold"))
        turns: list = []
        road = ""
        final = None
        prompt, version_id = await s.runs.prompt_of(agent_id, target)
        started = time.time()
        try:
            async for upd in s.simulations.run(agent_id, scenario, target, turns=args.turns):
                if isinstance(upd, RoadChosen):
                    road = upd.road
                    out.note(f"road: {upd.reason}")
                elif isinstance(upd, NewTurns):
                    for t in upd.turns:
                        if not args.json:
                            print_turn(out, t, len(turns))
                        turns.append(t)
                elif isinstance(upd, Progress):
                    out.note(upd.message)
                elif isinstance(upd, Finished):
                    final = upd.response
        except StreamInterrupted as exc:
            out.error(s.redact(str(exc)))
            h = s.runs.record_simulation(agent_id, scenario, target, road, None, started=started, partial=exc.partial,
                                         error=s.redact(str(exc)), prompt=prompt, version_id=version_id)
            out.note(f"recorded as run {h.id}")
            if args.json:
                out.json({"scenario": scenario.name, "agent_id": agent_id, "target": target.describe(), "road": road,
                          "interrupted": s.redact(str(exc)),
                          "simulated_conversation": [t.to_wire() for t in exc.partial], "analysis": None})
            return EXIT_API
        assert final is not None
        v = verdict(final)
        h = s.runs.record_simulation(agent_id, scenario, target, road, final, started=started, prompt=prompt,
                                     version_id=version_id)
        if args.json:
            out.json({"scenario": scenario.name, "agent_id": agent_id, "run_id": h.id, "target": target.describe(),
                      "road": road, "passed": v.passed, **final.to_wire()})
        else:
            out.blank()
            print_analysis(out, final.analysis)
            out.line(f"target {target.label} · road {road} · recorded as run {h.id}")
        return EXIT_OK if v.passed else EXIT_FAILED

    return run(args, body)
