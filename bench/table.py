"""The suite's one table: each figure, its reference, their ratio, the target, a verdict."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One figure: ``ratio`` = ``value`` / ``reference``; ``above`` when the target is a
    floor (serving: higher is better), else a ceiling."""

    figure: str
    value: str
    reference: str
    ratio: float
    target: float
    above: bool = False

    @property
    def verdict(self) -> str:
        ok = self.ratio >= self.target if self.above else self.ratio <= self.target
        return "meets" if ok else "misses"


def render(rows: list[Row]) -> str:
    head = ("figure", "icsbridge", "reference", "ratio", "target", "verdict")
    cells = [
        (
            r.figure,
            r.value,
            r.reference,
            f"{r.ratio:.3f}",
            f"{'>=' if r.above else '<='} {r.target:g}",
            r.verdict,
        )
        for r in rows
    ]
    widths = [max(len(str(c[i])) for c in [head, *cells]) for i in range(len(head))]
    lines = [
        "  ".join(str(c[i]).ljust(widths[i]) for i in range(len(head))) for c in [head, *cells]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)
