"""The claims' evidence table: Markdown, JSON, one self-contained HTML page, and one figure per rule."""

from __future__ import annotations

import base64
import html
import json
from dataclasses import asdict, dataclass, field

from gatelab.report.plots import COLORS, png
from matplotlib import pyplot

from claims.config import Budget, RuleText
from claims.evidence import NO_DIFFERENCE, Finding

__all__ = ["ClaimsReport", "effects_figure", "number"]


def effects_figure(rule: str, text: RuleText, findings: list[Finding], confidence: float) -> bytes:
    """Each finding's effect with its interval, against its null (0 for a difference, 1 for a ratio)."""
    figure, axes = pyplot.subplots(figsize=(9, 1.2 + 0.55 * len(findings)))
    for row, finding in enumerate(reversed(findings)):
        effect = finding.effect
        color = COLORS[0] if effect.null == 0 else COLORS[1]
        below, above = max(0.0, effect.estimate - effect.low), max(0.0, effect.high - effect.estimate)
        axes.errorbar(effect.estimate, row, xerr=[[below], [above]],
                      color=color, marker="o", capsize=4)
    for null in {finding.effect.null for finding in findings}:
        axes.axvline(null, color="grey", linestyle="--", linewidth=1)
    axes.set_yticks(range(len(findings)), [_short(finding.experiment) for finding in reversed(findings)],
                    fontsize="small")
    axes.set(xlabel=f"effect with its {confidence:.0%} interval (dashed: no effect; the rule predicts "
                    f"{text.predicts} it)", title=f"{rule}: {text.rule}")
    axes.title.set_fontsize("medium")
    axes.grid(alpha=0.3, axis="x")
    return png(figure)


def number(value: float) -> str:
    """A figure as the table shows it: a whole number in full (``35,457``), else four significant digits."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


def _short(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _how(finding: Finding) -> str:
    """A finding's notes, then how its interval was computed (alone when it has no notes)."""
    return f"{finding.notes} ({finding.effect.method})" if finding.notes else finding.effect.method


def _verdict_text(finding: Finding) -> str:
    if finding.verdict == NO_DIFFERENCE:
        return f"{finding.verdict} (smallest detectable: {finding.effect.detectable:.3g})"
    return finding.verdict


@dataclass
class ClaimsReport:
    """Every rule's findings and figure, with the budget, the machine and the wall time.

    Args:
        budget: the budget run.
        machine: where it ran, in words.
        seconds: wall seconds of this invocation (rules read back from an earlier run cost nothing).
        texts: each rule's text.
        findings: each rule's findings, the first its headline.
        figures: each rule's figure (PNG bytes).
        run: the claims run in MLflow (experiment ``gatelab-claims``).
        uri: the tracking store.
        confidence: of every interval.
    """

    budget: Budget
    machine: str
    seconds: float
    texts: dict[str, RuleText]
    findings: dict[str, list[Finding]]
    figures: dict[str, bytes] = field(repr=False)
    run: str
    uri: str
    confidence: float

    def rows(self) -> list[list[str]]:
        """The table: rule | experiment | effect [interval] | verdict | evidence."""
        rows = []
        for rule, findings in self.findings.items():
            for index, finding in enumerate(findings):
                numbers = "; ".join(f"{key} {number(value)}" for key, value in finding.numbers.items())
                effect = f"{finding.effect}" + (f" ({numbers})" if numbers else "")
                name = f"**{rule}**" if index == 0 else rule
                runs = list(dict.fromkeys(finding.runs))
                rows.append([name, finding.experiment, effect, _verdict_text(finding),
                             f"rule run {runs[-1]} ({len(runs)} runs in claims.json); plots/{rule}.png"])
        return rows

    def to_markdown(self) -> str:
        header = ["rule", "experiment", f"measured effect [{self.confidence:.0%} interval]", "verdict", "evidence"]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in self.rows()]
        rules = [f"- **{rule}** {text.rule} ({text.source}). Effect: {text.effect}; the rule predicts it "
                 f"{text.predicts} its null." for rule, text in self.texts.items() if rule in self.findings]
        notes = [f"- {finding.rule}, {finding.experiment}: {_how(finding)}"
                 for findings in self.findings.values() for finding in findings]
        return "\n".join([
            f"### gatelab claims: budget `{self.budget.name}` ({self.budget.about})",
            "",
            (f"Machine: {self.machine}. Wall time of this run: {self.seconds / 60:.1f} min. Seeds per verdict: "
             f"{self.budget.seeds}. MLflow: {self.uri}, experiment gatelab-claims, run {self.run}."),
            "",
            *lines,
            "",
            ("The headline row of each rule is in bold. Verdict: supported or contradicted where the interval lies "
             "wholly on one side of no effect (0 for a difference, 1 for a ratio); otherwise no detectable difference "
             "at this budget, with the smallest effect the experiment could have detected."),
            "",
            "**The rules**",
            "",
            *rules,
            "",
            "**How each effect was measured**",
            "",
            *notes,
        ]) + "\n"

    def to_dict(self) -> dict:
        return {"budget": asdict(self.budget), "machine": self.machine, "seconds": self.seconds, "run": self.run,
                "uri": self.uri, "confidence": self.confidence,
                "rules": {rule: {"text": asdict(self.texts[rule]), "verdict": findings[0].verdict,
                                 "findings": [finding.to_dict() for finding in findings]}
                          for rule, findings in self.findings.items()}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_html(self) -> str:
        """One page with everything inline (figures as data URIs): it opens anywhere, offline."""
        header = ["rule", "experiment", f"effect [{self.confidence:.0%} interval]", "verdict", "evidence"]
        table = "".join(f"<th>{html.escape(item)}</th>" for item in header)
        table += "".join("<tr>" + "".join(f"<td>{html.escape(cell.replace('**', ''))}</td>" for cell in row) + "</tr>"
                         for row in self.rows())
        body = [f"<h1>gatelab claims: budget {html.escape(self.budget.name)}</h1>",
                (f"<p>{html.escape(self.budget.about)}. Machine: {html.escape(self.machine)}; wall time "
                 f"{self.seconds / 60:.1f} min; MLflow run {html.escape(self.run)}.</p>"), f"<table>{table}</table>"]
        for rule, findings in self.findings.items():
            text = self.texts[rule]
            body.append(f"<h2>{rule}: {html.escape(text.rule)}</h2><p>{html.escape(text.source)}. Effect: "
                        f"{html.escape(text.effect)}.</p>")
            body += [f"<p>{html.escape(finding.experiment)}: {html.escape(_how(finding))}</p>" for finding in findings]
            if rule in self.figures:
                data = base64.b64encode(self.figures[rule]).decode()
                body.append(f"<figure><img alt='{rule}' src='data:image/png;base64,{data}'></figure>")
        style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse}"
                 "td,th{border:1px solid #bbb;padding:4px 8px}img{max-width:100%}")
        return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>gatelab claims</title><style>{style}</style>"
                f"</head><body>{''.join(body)}</body></html>\n")
