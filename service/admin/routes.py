"""All dashboard routers, included by the app under /admin."""

from fastapi import APIRouter

from service.admin import login, overview

router = APIRouter(include_in_schema=False)
router.include_router(login.router)
router.include_router(overview.router)
