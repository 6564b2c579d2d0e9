"""The report as one self-contained HTML page: tables, the verdict and the plots inline (it opens anywhere, offline)."""

from __future__ import annotations

import base64
import html

from gatelab.report.sentences import verdict_sentence
from gatelab.report.tables import Report

__all__ = ["report_html"]


def report_html(report: Report) -> str:
    """One HTML file with everything inline (plots as data URIs): it opens anywhere, offline."""
    verdict = report.verdict
    body = [f"<h1>gatelab: {html.escape(verdict.task)} sweep {html.escape(verdict.sweep)}</h1>",
            f"<p class='verdict'><b>Verdict:</b> {html.escape(verdict_sentence(verdict))}</p>"]
    for title, header, rows in report.tables():
        cells = "".join(f"<th>{html.escape(item)}</th>" for item in header)
        lines = "".join("<tr>" + "".join(f"<td>{html.escape(item)}</td>" for item in row) + "</tr>" for row in rows)
        body.append(f"<h2>{html.escape(title)}</h2><table><tr>{cells}</tr>{lines}</table>")
    body += [f"<p>{html.escape(note)}</p>" for note in report.notes()]
    for name, png in sorted(report.plots.items()):
        data = base64.b64encode(png).decode()
        body.append(f"<figure><img alt='{name}' src='data:image/png;base64,{data}'>"
                    f"<figcaption>{html.escape(name)}</figcaption></figure>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #bbb;padding:4px 8px;text-align:right}.verdict{font-size:1.15em}"
             "img{max-width:100%}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>gatelab {html.escape(verdict.sweep)}"
            f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>\n")
