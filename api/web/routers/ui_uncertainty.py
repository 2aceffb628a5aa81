"""The web UI's uncertainty pages (decision 0530)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
