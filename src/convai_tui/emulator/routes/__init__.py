"""The emulator's routers, one per area of the ConvAI API (plus ``control`` for ``/_emulator`` and
``/health``). Each reads the shared :class:`~convai_tui.emulator.state.EmulatorState` through the
:func:`~convai_tui.emulator.routes.deps.get_state` dependency."""

from . import agents, branches, control, conversations, invocations, simulation, testing

ROUTERS = (control.router, agents.router, branches.router, simulation.router, conversations.router,
           testing.router, invocations.router)
