"""The server section's bar charts, as plain SVG drawn from numbers already reduced to one bar per
load and server: the median, the spread for a whisker, and optionally the share of the bar that
is its lower part (system time under user time), drawn pale under the solid rest. One panel per
load, each with its own scale.
"""

import math
import pathlib

# Colours for the bars, one per contender in order (baseline last).
PALETTE = ["#1f77b4", "#2ca02c", "#17becf", "#9467bd", "#ff7f0e", "#d62728"]
# How the lower part of a split bar is drawn: the server's colour, this opaque.
PALE = 0.35


class Bar:
    """One bar: median `med`, whisker `lo`..`hi`, and `lower` (0..1) the share of `med` drawn
    pale at the bottom, or None to draw it whole."""

    def __init__(self, med, lo, hi, lower=None, note=""):
        self.med, self.lo, self.hi, self.lower, self.note = med, lo, hi, lower, note


def nice_step(top, ticks=5):
    """A round grid step (1, 2 or 5 times a power of ten) giving about `ticks` lines up to `top`."""
    raw = top / ticks
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def svg_chart(path, title, subtitle, unit, groups, names, bars, fmt, split_legend=None, marks=None):
    """A bar chart with one panel per entry of `groups` (the loads differ by orders of magnitude,
    so each panel has its own scale), one bar per entry of `names` (from `bars[(group, name)]`,
    absent or None: no bar), whiskers, each median written over its bar. `split_legend` =
    (lower label, upper label) explains the two parts of split bars. `marks[group]` = (value,
    label): a dashed line across that panel (a target level), named in the legend by the first
    group's label (every group's should say the same)."""
    marks = marks or {}
    width, left, right, top_pad = 760, 28, 10, 52
    legend_h = 36 if split_legend or marks else 18
    height = 342 + legend_h - 18
    plot_h = height - top_pad - 30 - legend_h
    panel_w = (width - left - right) / max(len(groups), 1)
    axis_w = 44  # each panel's own scale, left of its bars
    bar_w = (panel_w - axis_w) * 0.9 / max(len(names), 1)
    base_y = top_pad + plot_h

    e = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
         f'<rect width="{width}" height="{height}" fill="white"/>',
         f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
         f'<text x="{width / 2}" y="36" text-anchor="middle" font-size="11" fill="#444">{subtitle}</text>',
         f'<text x="14" y="{top_pad + plot_h / 2}" transform="rotate(-90 14 {top_pad + plot_h / 2})" '
         f'text-anchor="middle">{unit}</text>']
    for gi, group in enumerate(groups):
        px = left + gi * panel_w
        his = [b.hi for n in names if (b := bars.get((group, n)))]
        his += [marks[group][0]] if group in marks else []
        step = nice_step(max(his or [1.0]) * 1.1 or 1.0)
        top = step * math.ceil(max(his or [1.0]) * 1.1 / step) or step

        def y(v, top=top):
            return top_pad + plot_h * (1 - v / top)

        v = 0.0
        while v <= top * 1.0001:
            e.append(f'<line x1="{px + axis_w}" x2="{px + panel_w - 6:.1f}" y1="{y(v):.1f}" '
                     f'y2="{y(v):.1f}" stroke="#ddd"/>')
            e.append(f'<text x="{px + axis_w - 4}" y="{y(v) + 4:.1f}" text-anchor="end" '
                     f'font-size="10">{fmt(v)}</text>')
            v += step
        for ni, name in enumerate(names):
            b = bars.get((group, name))
            if not b:
                continue
            x, w = px + axis_w + 4 + ni * bar_w, bar_w * 0.9
            colour = PALETTE[ni % len(PALETTE)]
            tip = f"{name}, {group}: {fmt(b.med)} ({fmt(b.lo)}–{fmt(b.hi)}){b.note}"
            split = b.med * b.lower if b.lower is not None else 0.0
            e.append(f'<rect x="{x:.1f}" y="{y(b.med):.1f}" width="{w:.1f}" '
                     f'height="{y(split) - y(b.med):.1f}" fill="{colour}"><title>{tip}</title></rect>')
            if b.lower is not None:
                e.append(f'<rect x="{x:.1f}" y="{y(split):.1f}" width="{w:.1f}" '
                         f'height="{base_y - y(split):.1f}" fill="{colour}" fill-opacity="{PALE}">'
                         f'<title>{tip}</title></rect>')
            cx = x + w / 2
            e.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(b.hi):.1f}" y2="{y(b.lo):.1f}" stroke="black"/>')
            e.append(f'<text x="{cx:.1f}" y="{y(b.hi) - 3:.1f}" text-anchor="middle" font-size="9">{fmt(b.med)}</text>')
        if group in marks:
            value = marks[group][0]
            e.append(f'<line x1="{px + axis_w}" x2="{px + panel_w - 6:.1f}" y1="{y(value):.1f}" '
                     f'y2="{y(value):.1f}" stroke="#c00" stroke-dasharray="5,3"/>')
        e.append(f'<text x="{px + axis_w + (panel_w - axis_w) / 2:.1f}" y="{base_y + 16}" '
                 f'text-anchor="middle">{group}</text>')
    legend_y = base_y + 30
    lx = left
    for ni, name in enumerate(names):
        e.append(f'<rect x="{lx}" y="{legend_y}" width="10" height="10" fill="{PALETTE[ni % len(PALETTE)]}"/>')
        e.append(f'<text x="{lx + 14}" y="{legend_y + 9}">{name}</text>')
        lx += 14 + 7.2 * len(name) + 16
    ly, lx = legend_y + 18, left
    if split_legend:
        lower, upper = split_legend
        e.append(f'<rect x="{left}" y="{ly}" width="10" height="10" fill="#555"/>')
        e.append(f'<text x="{left + 14}" y="{ly + 9}">solid: {upper}</text>')
        lx = left + 14 + 7.2 * (len(upper) + 7) + 16
        e.append(f'<rect x="{lx:.0f}" y="{ly}" width="10" height="10" fill="#555" fill-opacity="{PALE}"/>')
        e.append(f'<text x="{lx + 14:.0f}" y="{ly + 9}">pale: {lower}</text>')
        lx += 14 + 7.2 * (len(lower) + 6) + 16
    if marks:
        label = next(iter(marks.values()))[1]
        e.append(f'<line x1="{lx:.0f}" x2="{lx + 16:.0f}" y1="{ly + 5}" y2="{ly + 5}" stroke="#c00" '
                 f'stroke-dasharray="5,3"/>')
        e.append(f'<text x="{lx + 20:.0f}" y="{ly + 9}">{label}</text>')
    e.append("</svg>")
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(e) + "\n")
