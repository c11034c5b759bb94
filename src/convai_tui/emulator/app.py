"""The emulator's ASGI app: the ConvAI API's paths, JSON, stream framing and error shapes.

One router per area of the API (:mod:`.routes`), sharing one :class:`~.state.EmulatorState`
through a FastAPI dependency; :class:`~.middleware.Gate` in front (faults, auth, concurrency
limit, latency, strict mode); :mod:`.errors` makes every error a JSON body of the API's shape.
"""

from __future__ import annotations

from fastapi import FastAPI

from . import errors
from .middleware import WARM, Gate
from .routes import ROUTERS
from .state import EmulatorState


def create_app(state: EmulatorState | None = None) -> FastAPI:
    st = state or EmulatorState()
    app = FastAPI(title="convai-tui emulator", version="1", docs_url=None, redoc_url=None, openapi_url=None,
                  redirect_slashes=False)  # a trailing slash is a 404 (JSON), not a body-less 307
    app.state.emulator = st
    app.state.counters = {"requests": 0, "in_flight": 0, "max_in_flight": 0, "rejected": 0}
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(Gate, state=st, counters=app.state.counters)
    if st.config.strict:
        _ = st.spec  # parse the document now, not on the first request
    return app


def warm(app: FastAPI) -> None:
    """Answer one request per common route in-process, before serving: FastAPI builds each route's
    validators on its first call (the conversations route has ~40 parameters), and the first page a
    client asks for should be as fast as the next. Bypasses the gate: no latency, faults or counters."""
    import asyncio

    import httpx

    st: EmulatorState = app.state.emulator

    async def router(scope: dict, receive: object, send: object) -> None:
        scope[WARM] = True  # only settable in-process: no HTTP request can pass the gate this way
        await app(scope, receive, send)  # type: ignore[arg-type]

    async def run() -> None:
        agent = next(iter(st.agents))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=router), base_url="http://warm") as c:
            for path, params in (("/v1/convai/agents", {}), (f"/v1/convai/agents/{agent}", {}),
                                 ("/v1/convai/conversations", {"agent_id": agent, "page_size": 1}),
                                 ("/v1/convai/agent-testing", {"page_size": 1}),
                                 ("/v1/convai/test-invocations", {"agent_id": agent, "page_size": 1}),
                                 (f"/v1/convai/agents/{agent}/branches", {})):
                await c.get(path, params=params)

    asyncio.run(run())
