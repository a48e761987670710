"""Annotated dependencies: the store, the settings and write access (bearer token, 401)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from graph_service.core.errors import say
from graph_service.core.state_cache import StateCache
from graph_service.settings import Settings
from graph_service.store import Store
from graph_service.web.errors import Unauthorized


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_cache(request: Request) -> StateCache:
    cache: StateCache = request.app.state.cache
    return cache


def _presented_token(request: Request) -> str:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthorized()
    return credentials.strip()


def require_writer(request: Request) -> str:
    """The submitter's name behind a valid bearer token; 401 otherwise."""
    settings = get_settings(request)
    presented = _presented_token(request)
    if settings.is_admin(presented):
        return "admin"
    name = settings.submitter_for(presented)
    if name is None:
        raise Unauthorized(say("The bearer token is not valid.", "Bearer-tokenet er ikke gyldig.",
                               "Bearer-tokenet er ikkje gyldig."))
    return name


def is_admin(request: Request) -> bool:
    """True when the request carries the administrator token."""
    settings = get_settings(request)
    try:
        return settings.is_admin(_presented_token(request))
    except Unauthorized:
        return False


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
Writer = Annotated[str, Depends(require_writer)]
Admin = Annotated[bool, Depends(is_admin)]
CacheDep = Annotated[StateCache, Depends(get_cache)]
