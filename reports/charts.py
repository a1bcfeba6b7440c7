"""Monthly GMV and household income (脱贫户, 监测对象) per region: the series and a plain SVG chart.

SVG keeps the text as text, so the console shows Chinese labels with the
browser's own fonts (a server-side PNG would need CJK fonts installed).
"""

from xml.sax.saxutils import escape

from core.clock import beijing_today
from reports.analytics import SalesGrouping, month_bounds, sales_figures
from villages.models import Region

WIDTH, HEIGHT, MARGIN = 760, 320, 48


def last_months(until: str, count: int) -> list[str]:
    year, month = (int(part) for part in until.split("-"))
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def monthly_series(region: Region, until: str, count: int) -> dict:
    """GMV and household income per month, by category and summed (two queries for the whole range)."""
    months = last_months(until, count)
    first, _ = month_bounds(months[0])
    _, last = month_bounds(months[-1])
    rows = {row["key"]: row for row in sales_figures(region.code, first, last, SalesGrouping.MONTH)["rows"]}
    return {
        "region": {"code": region.code, "name": region.name},
        "months": months,
        "gmv_fen": [rows.get(m, {}).get("gmv_fen", 0) for m in months],
        **{
            figure: [rows.get(m, {}).get(figure, 0) for m in months]
            for figure in (
                "poor_household_income_fen",
                "tuopin_household_income_fen",
                "monitored_household_income_fen",
            )
        },
    }


def render_svg(series: dict) -> str:
    """Bars per month in yuan: GMV (green) beside household income, 脱贫户 (orange) under 监测对象 (yellow)."""
    months, gmv = series["months"], series["gmv_fen"]
    tuopin, monitored = series["tuopin_household_income_fen"], series["monitored_household_income_fen"]
    top = max([*gmv, *(a + b for a, b in zip(tuopin, monitored, strict=True)), 100])
    plot_w, plot_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN
    slot = plot_w / max(len(months), 1)
    bar = slot * 0.35
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'font-family="sans-serif" font-size="11">',
        f'<text x="{MARGIN}" y="20" font-size="14">{escape(series["region"]["name"])} '
        "月度销售额与脱贫户、监测对象收入（元）</text>",
        f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" y2="{HEIGHT - MARGIN}" stroke="#555"/>',
        f'<text x="{MARGIN}" y="{MARGIN - 6}" fill="#555">最高 {top // 100:,} 元</text>',
    ]
    for index, month in enumerate(months):
        x = MARGIN + index * slot + slot * 0.15
        for offset, base, value, colour, label in (
            (0, 0, gmv[index], "#3a7d44", "销售额"),
            (bar, 0, tuopin[index], "#e07a1f", "脱贫户收入"),
            (bar, tuopin[index], monitored[index], "#f2c14e", "监测对象收入"),
        ):
            height = plot_h * value / top
            bottom = HEIGHT - MARGIN - plot_h * base / top
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{bottom - height:.1f}" width="{bar:.1f}" '
                f'height="{height:.1f}" fill="{colour}"><title>{month} {label} {value / 100:.2f} 元</title></rect>'
            )
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - MARGIN + 14}">{month[2:]}</text>')
    for left, colour, label in (
        (WIDTH - 300, "#3a7d44", "销售额"),
        (WIDTH - 230, "#e07a1f", "脱贫户收入"),
        (WIDTH - 140, "#f2c14e", "监测对象收入"),
    ):
        parts.append(
            f'<rect x="{left}" y="8" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + 14}" y="17">{label}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def this_month() -> str:
    """The current Beijing month (a server in UTC is still in last month until 08:00 on the 1st)."""
    today = beijing_today()
    return f"{today.year:04d}-{today.month:02d}"
