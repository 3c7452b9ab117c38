"""Public, server-rendered pages: the signup form and self-service through signed links."""

from fastapi import APIRouter

from service.public import home, join, manage, member, round_links

router = APIRouter(include_in_schema=False)
router.include_router(home.router)
router.include_router(join.router)
router.include_router(manage.router)
router.include_router(round_links.router)
router.include_router(member.router)
