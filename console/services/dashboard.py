"""The dashboard of a region: this month against last, the 12-month trend, children, policy targets."""

from datetime import date

from console.services.regions import region_in_scope
from core.auth import scope_for
from core.models import User
from reports.analytics import month_bounds, sales_figures
from reports.charts import last_months, monthly_series
from reports.snapshots import READERS
from villages.metrics import village_metrics
from villages.models import RegionLevel

# The city's policy targets: (key, counted villages, of which) — keys name the shortfall list's ``missing``.
TARGETS = (
    ("info_officer", "with_info_officer", "villages"),
    ("ecommerce_talent", "with_ecommerce_talent", "villages"),
    ("station", "poverty_villages_with_station", "poverty_villages"),
    ("fibre", "poverty_villages_fibre_covered", "poverty_villages"),
    ("mobile_4g", "poverty_villages_4g_covered", "poverty_villages"),
)
HEADLINE = ("gmv_fen", "orders", "buyers", "poor_household_income_fen")


def _period(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _change(now: int, before: int) -> float | None:
    """Percent change from last month (None when last month had nothing)."""
    return round(100 * (now - before) / before, 1) if before else None


def _certified_share(totals: dict) -> float:
    return round(100 * totals["certified_product_gmv_fen"] / totals["gmv_fen"], 1) if totals["gmv_fen"] else 0.0


def policy_targets(metrics: dict) -> list[dict]:
    """Each target's count, base and percentage from the village metrics."""
    poverty_without_station = sum(
        1 for row in metrics["shortfalls"] if row["is_poverty_village"] and "station" in row["missing"]
    )
    counts = {**metrics, "poverty_villages_with_station": metrics["poverty_villages"] - poverty_without_station}
    out = []
    for key, counted, base in TARGETS:
        total = counts[base]
        out.append(
            {
                "key": key,
                "count": counts[counted],
                "total": total,
                "percent": round(100 * counts[counted] / total, 1) if total else 100.0,
                "short": total - counts[counted],
            }
        )
    return out


def region_dashboard(user: User, region_code: str | None, today: date) -> dict:
    """Everything the dashboard shows for a region the user may read."""
    region = region_in_scope(scope_for(user, *READERS), region_code)
    this_period = _period(today)
    last_period = last_months(this_period, 2)[0]
    first, _ = month_bounds(this_period)
    current = sales_figures(region.code, first, today, "region" if region.level != RegionLevel.VILLAGE else None)
    previous = sales_figures(region.code, *month_bounds(last_period), None)["totals"]
    totals = current["totals"]
    headline = [
        {"key": key, "now": totals[key], "before": previous[key], "change": _change(totals[key], previous[key])}
        for key in HEADLINE
    ]
    certified = {"now": _certified_share(totals), "before": _certified_share(previous)}
    certified["change"] = round(certified["now"] - certified["before"], 1)
    metrics = village_metrics(user, region.code)
    sales_by_child = {row["key"]: row for row in current["rows"]}
    comparison = [
        {
            "code": child["region"],
            "name": child["region_name"],
            "gmv_fen": sales_by_child.get(child["region"], {}).get("gmv_fen", 0),
            "orders": sales_by_child.get(child["region"], {}).get("orders", 0),
            "poor_household_income_fen": sales_by_child.get(child["region"], {}).get("poor_household_income_fen", 0),
            "villages": child["villages"],
            "with_station": child["with_station"],
        }
        for child in metrics["children"]
    ]
    return {
        "region": region,
        "period": this_period,
        "last_period": last_period,
        "headline": headline,
        "certified": certified,
        "trend": monthly_series(region, this_period, 12),
        "comparison": comparison,
        "targets": policy_targets(metrics),
        "metrics": metrics,
    }


def shortfalls(user: User, region_code: str | None, target: str | None) -> dict:
    """Villages of the region missing ``target`` (or any target)."""
    region = region_in_scope(scope_for(user, *READERS), region_code)
    metrics = village_metrics(user, region.code)
    rows = [row for row in metrics["shortfalls"] if target is None or target in row["missing"]]
    return {"region": region, "target": target, "villages": rows}
