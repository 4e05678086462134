"""An SVG bar chart of per-target times (cold, warm, baseline), written by hand: no plotting
library for three bars a row."""

from __future__ import annotations

from html import escape

SERIES = (("cold", "#d9534f"), ("baseline", "#999999"), ("warm", "#5cb85c"))
ROW, BAR, LEFT, WIDTH = 42, 11, 190, 460


def svg_chart(per_target: dict[str, dict[str, float | None]]) -> str:
    """One row per target, one bar per series, scaled to the longest time."""
    longest = max((v or 0) for row in per_target.values() for v in row.values()) or 1.0
    height = 40 + ROW * len(per_target)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{LEFT + WIDTH + 80}" '
        f'height="{height}" font-family="sans-serif" font-size="12">',
        '<text x="10" y="18" font-weight="bold">Per-target build time (s)</text>',
    ]
    for i, (name, color) in enumerate(SERIES):
        x = LEFT + i * 110
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{x + 16}" y="18">{name}</text>')
    for row, (target, times) in enumerate(per_target.items()):
        top = 32 + row * ROW
        parts.append(f'<text x="10" y="{top + 18}">{escape(target)}</text>')
        for i, (name, color) in enumerate(SERIES):
            value = times.get(name)
            if value is None:
                continue
            y = top + i * (BAR + 1)
            width = max(1.0, WIDTH * value / longest)
            parts.append(
                f'<rect x="{LEFT}" y="{y}" width="{width:.1f}" height="{BAR}" fill="{color}"/>'
            )
            parts.append(f'<text x="{LEFT + width + 4:.1f}" y="{y + 10}">{value:.1f}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
