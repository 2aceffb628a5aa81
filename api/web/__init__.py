"""The caltrace service (FastAPI): ``create_app`` in :mod:`api.web.app`, started by ``caltrace serve``.

Layout (docs/service.md): ``settings`` (pydantic-settings), ``security`` (argon2 passwords, signed tokens, the
clock), ``accounts`` (logins and lockout), ``errors`` (RFC 9457 problem details), ``deps`` (``Annotated``
dependencies), ``uploads`` (bounded uploads), ``records`` (registry writes through the importers' validation),
``schemas`` (Create/Update/Public models) and ``routers`` (one module per resource, all under ``/api/v1``).
"""
