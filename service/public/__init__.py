"""Public, server-rendered pages: the signup form and self-service through signed links."""

from fastapi import APIRouter

from service.public import (
    home,
    introduction_answer,
    introductions,
    join,
    library,
    library_share,
    manage,
    member,
    personal_data,
    record,
    round_links,
)

router = APIRouter(include_in_schema=False)
router.include_router(home.router)
router.include_router(join.router)
router.include_router(manage.router)
router.include_router(round_links.router)
router.include_router(member.router)
router.include_router(library.router)
router.include_router(library_share.router)
router.include_router(record.router)
router.include_router(personal_data.router)
router.include_router(introductions.router)
router.include_router(introduction_answer.router)
