"""The notebook display of brand lint findings (:func:`fibo_prompts.brand.lint`).

A headline (``2 findings: 1 error, 1 warning``, or ``no findings: on brand``), then one row
per finding: severity, path, message, rule and suggestion. ``application/json`` (the
findings as data) only on request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts.notebook._html import (
    CELL,
    GOOD,
    MONO,
    MUTED,
    TABLE,
    badge,
    card,
    escape,
    filter_bundle,
    severity_badge,
)

if TYPE_CHECKING:
    from fibo_prompts.brand import Finding

__all__ = ["findings_bundle", "findings_headline", "findings_html", "findings_text"]

_ORDER: Final = ("error", "warning", "info")


def findings_headline(findings: Sequence[Finding]) -> str:
    """``"3 findings: 1 error, 2 warnings"`` or ``"no findings: on brand"``."""
    if not findings:
        return "no findings: on brand"
    counts = {severity: 0 for severity in _ORDER}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    parts = [f"{n} {sev}{'s' if n != 1 else ''}" for sev, n in counts.items() if n]
    total = len(findings)
    return f"{total} finding{'s' if total != 1 else ''}: " + ", ".join(parts)


def findings_text(findings: Sequence[Finding]) -> str:
    """The headline, then one ``PATH: SEVERITY: MESSAGE [RULE] (SUGGESTION)`` line each."""
    return "\n".join([findings_headline(findings), *(f.format() for f in findings)]) + "\n"


def findings_html(findings: Sequence[Finding]) -> str:
    """The findings as a self-contained HTML table."""
    mark = badge("on brand", GOOD) if not findings else ""
    head = (
        f'<div style="margin-bottom:4px"><b>{escape(findings_headline(findings))}</b> {mark}</div>'
    )
    if not findings:
        return card("findings", head)
    rows = []
    for finding in findings:
        suggestion = (
            f'<div style="{MUTED}">&rarr; {escape(finding.suggestion)}</div>'
            if finding.suggestion
            else ""
        )
        rows.append(
            f'<tr><td style="{CELL};width:5.5em">{severity_badge(finding.severity)}</td>'
            f'<td style="{CELL};{MONO};width:16em">{escape(finding.path or "(prompt)")}</td>'
            f'<td style="{CELL}">{escape(finding.message)} '
            f'<span style="{MONO};{MUTED}">[{escape(finding.rule)}]</span>{suggestion}</td></tr>'
        )
    table = f'<table style="{TABLE}"><tbody>{"".join(rows)}</tbody></table>'
    return card("findings", head + table)


def findings_bundle(
    findings: Sequence[Finding],
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The Jupyter mime bundle of lint findings: ``text/plain`` and ``text/html`` (and
    ``application/json`` when ``include`` asks for it)."""
    return filter_bundle(
        {
            "text/plain": lambda: findings_text(findings),
            "text/html": lambda: findings_html(findings),
        },
        include,
        exclude,
        on_request={"application/json": lambda: [f.to_dict() for f in findings]},
    )
