"""The Impact page's numbers: what the programme achieved, with small numbers suppressed."""

from service.impact.figures import MIN_PEOPLE, SUPPRESSED_TEXT, Cell, Figure, figure_csv
from service.impact.metrics import ImpactReport, impact_report

__all__ = [
    "MIN_PEOPLE",
    "SUPPRESSED_TEXT",
    "Cell",
    "Figure",
    "ImpactReport",
    "figure_csv",
    "impact_report",
]
