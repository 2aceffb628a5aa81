"""The web UI's dashboard ``/`` (decision 0530)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.web.ui import PageAccount, render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, account: PageAccount) -> HTMLResponse:
    """The dashboard."""
    return render(request, "ui/dashboard.html", account=account, nav="dashboard")
