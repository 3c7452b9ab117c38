"""The Impact page a wellness lead shows the board, and each figure as a CSV download."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service.admin.deps import AdminContext, OrgDep
from service.admin.pages import page
from service.deps import SessionDep
from service.errors import NotFound
from service.impact import figure_csv, impact_report
from service.impact.charts import report_charts
from service.impact.figures import labels
from service.introductions.stats import introduction_counts

router = APIRouter(prefix="/admin/o/{slug}/impact")
# The department network can have thousands of links: the page lists the strongest, the CSV all.
PAGE_ROWS = 50

# The order of the page; also the figures that have a CSV.
FIGURES = (
    "participation",
    "meetings",
    "ratings",
    "outcomes",
    "connections",
    "ties",
    "retention",
    "network",
)


def may_read_free_text(ctx: AdminContext) -> bool:
    """Free-text answers are for the organization's own admins, not super admins visiting."""
    return ctx.account.organization_id == ctx.org.id


@router.get("", response_class=HTMLResponse)
def impact_page(request: Request, ctx: OrgDep, session: SessionDep) -> HTMLResponse:
    show_quotes = may_read_free_text(ctx)
    report = impact_report(session, ctx.org, include_quotes=show_quotes)
    charts = report_charts(report)
    sections = []
    for key in FIGURES:
        figure = report.figures[key]
        shown = figure.rows[:PAGE_ROWS]
        sections.append(
            {
                "figure": figure,
                "svg": charts[key],
                "rows": [labels([row[c.key] for c in figure.columns]) for row in shown],
                "more_rows": len(figure.rows) - len(shown),
            }
        )
    return page(
        request,
        ctx,
        "admin/impact/index.html",
        {
            "report": report,
            "headline": report.headline,
            "sections": sections,
            "show_quotes": show_quotes,
            "quotes": report.quotes,
            "introductions": introduction_counts(session, ctx.org),
        },
        section="impact",
        session=session,
    )


@router.get("/{figure}.csv")
def impact_csv(figure: str, ctx: OrgDep, session: SessionDep) -> Response:
    if figure not in FIGURES:
        raise NotFound("No such figure.")
    report = impact_report(session, ctx.org)
    return Response(
        figure_csv(report.figures[figure]),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="impact-{ctx.org.slug}-{figure}.csv"',
            "Cache-Control": "no-store",
        },
    )
