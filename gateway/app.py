"""The FastAPI application; OpenAPI document at /openapi.json, interactive docs at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway.auth import install_security
from gateway.clients import Clients
from gateway.errors import install_error_handlers
from gateway.routes import (
    catalog,
    events,
    governance,
    models,
    personal,
    playlist_scoring,
    playlists,
    profiles,
    radio,
    recommendations,
)
from services.common.config import Settings
from services.common.telemetry import DISABLED, Telemetry


def create_app(settings: Settings, telemetry: Telemetry = DISABLED) -> FastAPI:
    """`telemetry`: traces each request (the root span of its trace) into the services."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.clients = Clients.connect(settings, telemetry)
        try:
            yield
        finally:
            await app.state.clients.close()

    app = FastAPI(
        title="Juke recommendation core",
        version="1.0.0",
        description="Catalog identity, governance and recommendations over REST.",
        lifespan=lifespan,
    )
    app.state.settings = settings  # routes read the promotion approver from it
    install_error_handlers(app)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(catalog.router)
    app.include_router(governance.router)
    app.include_router(recommendations.router)
    app.include_router(models.router)
    app.include_router(events.router)
    app.include_router(personal.router)
    app.include_router(profiles.router)
    app.include_router(playlists.router)
    app.include_router(playlist_scoring.router)
    app.include_router(radio.router)
    install_security(app, settings)  # API keys and roles, rate and size limits
    telemetry.instrument_app(app)
    return app
