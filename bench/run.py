"""`make bench`: the city at scale, over HTTP, every figure a ratio to a bare Flask route.

1. Build (or reuse) the dataset on PostgreSQL (``bench.dataset``).
2. Serve the app with gunicorn in production settings and, the same way, a
   bare Flask route; wrk drives each endpoint and the bare route in turn,
   ``BENCH_REPS`` times, and each figure is the median of the paired ratios.
3. Reports at 1M lines: the app's time over HTTP ÷ the same aggregate in
   hand-written SQL run directly.
4. A hot SKU (200 buyers, 50 in stock) and worker RSS over 10,000 requests.
5. Checkout and payment notifications: production refuses the payment
   sandbox (and any gateway URL pointing at it), so these two run against the
   app in development mode with ``PAYMENT_SANDBOX=1`` and the simulator, under
   the same gunicorn settings.

Writes ``bench/results/latest.json`` and prints a Markdown table.
"""

import dataclasses
import functools
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import psycopg

from bench import load, queries, servers
from bench.dataset import DEFAULT_URL, Dataset, Scale, ensure_dataset, libpq_url

RESULTS = Path(__file__).resolve().parent / "results"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
DEFAULT_GROWTH = (4, 2)  # the cost growth: the reports and checkout again at ¼ and ½ of the lines
REPS = int(os.environ.get("BENCH_REPS", "3"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "4"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))

TARGETS = {
    "home feed": 0.7,
    "product page": 0.7,
    "category=fruit": 0.5,
    "q=黄桃": 0.5,
    "sort=price_asc&poverty=true": 0.5,
    "regions?parent=4302": 0.8,
    "/healthz": 0.85,
    "checkout (order + payment)": 0.05,
    "payment notification": 0.1,
}
LARGE_ORDER_LINES = 2000  # a unit's welfare order; WeChat waits 5 s for the answer to its notification
LARGE_ORDER_TARGET_S = 1.0


def log(message: str) -> None:
    print(message, flush=True)


def base_env(dataset: Dataset, cache_prefix: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLASK_", "PAYMENT_", "SANDBOX_"))}
    env.update(
        DATABASE_URL=dataset.url,
        SECRET_KEY=dataset.secret_key,
        PII_KEY=dataset.pii_key,
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX=cache_prefix,
        PYTHONPATH=str(servers.ROOT),
    )
    return env


def production_env(dataset: Dataset, cache_prefix: str) -> dict:
    return {
        **base_env(dataset, cache_prefix),
        **wechat_pay_settings(),
        "APP_ENV": "production",
        "PAYMENT_SANDBOX": "0",
    }


@functools.cache
def wechat_pay_settings() -> dict:
    """Merchant settings production refuses to start without (WeChat Pay API v3), made up for this run.

    No payment reaches a gateway from the production servers (checkout is measured against the
    sandbox), so the keys only have to be well-formed: a fresh RSA pair, not the sandbox's.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return {
        "WECHAT_PAY_VERSION": "v3",
        "WECHAT_APPID": "wxbench" + secrets.token_hex(5),
        "WECHAT_PAY_MCH_ID": str(1900000000 + secrets.randbelow(99999999)),
        "WECHAT_PAY_V3_PRIVATE_KEY": private_pem,
        "WECHAT_PAY_V3_SERIAL_NO": secrets.token_hex(20).upper(),
        "WECHAT_PAY_V3_KEY": secrets.token_hex(16),
        "WECHAT_PAY_V3_PUBLIC_KEY": public_pem,
        "WECHAT_PAY_V3_PUBLIC_KEY_ID": "PUB_KEY_ID_" + secrets.token_hex(12),
    }


def sandbox_env(dataset: Dataset, cache_prefix: str) -> dict:
    """Development mode with the payment sandbox: the only way the app pays without a real merchant."""
    return {
        **base_env(dataset, cache_prefix),
        "APP_ENV": "development",
        "PAYMENT_SANDBOX": "1",
        "SANDBOX_URL": f"http://127.0.0.1:{servers.SANDBOX_PORT}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{servers.SANDBOX_APP_PORT}",
        # Checkout is measured as throughput: each bench buyer leaves every order unpaid, which the
        # anti-hoarding limits (5 unpaid orders, 30 units of a SKU per buyer) would otherwise stop.
        "UNPAID_ORDERS_PER_BUYER": "1000000",
        "UNPAID_UNITS_PER_SKU": "1000000",
    }


def clear_cache(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)


def paired(name: str, app: servers.Server, bare: servers.Server, script: str, args_for, **options) -> dict:
    """``REPS`` rounds of (bare route, endpoint) back to back; the median of the per-round ratios."""
    rounds = []
    for rep in range(REPS):
        bare_run = load.wrk(bare.base_url, "get", ["/bare"], seconds=SECONDS, **options)
        run = load.wrk(app.base_url, script, args_for(rep), seconds=SECONDS, **options)
        if not bare_run.rps:  # the app serving nothing in a round is a figure (0); the bare route never is
            raise RuntimeError(f"{name}: the bare route served nothing in a round")
        rounds.append((bare_run, run))
        log(f"  {name:32} {run.rps:8.0f} rps  bare {bare_run.rps:8.0f}  ×{run.rps / bare_run.rps:.2f}")
    return {
        "rps": statistics.median(run.rps for _, run in rounds),
        "bare_rps": statistics.median(bare_run.rps for bare_run, _ in rounds),
        "ratio": statistics.median(run.rps / bare_run.rps for bare_run, run in rounds),
        "errors": sum(run.errors for _, run in rounds),
        "p50_ms": statistics.median(run.p50_ms for _, run in rounds),
        "p99_ms": statistics.median(run.p99_ms for _, run in rounds),
        "target": TARGETS.get(name),
    }


def get_ok(base_url: str, path: str, token: str | None = None) -> bytes:
    import urllib.request

    request = urllib.request.Request(base_url + path, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=120) as response:
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status}")
        return response.read()


def read_endpoints(dataset: Dataset) -> list[tuple[str, list[str]]]:
    products = [f"/api/v1/products/{pid}" for pid in dataset.product_ids[:100]]
    return [
        ("home feed", ["/api/v1/products"]),
        ("product page", products),
        ("category=fruit", ["/api/v1/products?category=fruit"]),
        ("q=黄桃", ["/api/v1/products?q=" + quote("黄桃")]),
        ("sort=price_asc&poverty=true", ["/api/v1/products?sort=price_asc&poverty=true"]),
        ("regions?parent=4302", ["/api/v1/regions?parent=4302"]),
        ("/healthz", ["/healthz"]),
    ]


def measure_reads(dataset, app, bare) -> dict:
    results = {}
    for name, paths in read_endpoints(dataset):
        for path in paths:
            get_ok(app.base_url, path)  # answers 200, and warms any cache as a live site's would be
        results[name] = paired(name, app, bare, "get", lambda rep, paths=paths: paths, connections=CONNECTIONS)
    return results


# Reports ---------------------------------------------------------------------------


def report_periods(dataset: Dataset) -> dict[str, tuple[date, date]]:
    last_full = dataset.last_day.replace(day=1) - timedelta(days=1)
    month_first = last_full.replace(day=1)
    year_first = max(dataset.first_day, dataset.last_day - timedelta(days=364))
    return {
        "monthly (by village)": (month_first, last_full, "village"),
        "12 months (by month)": (year_first, dataset.last_day, "month"),
    }


def measure_reports(dataset, app, token: str, label: str = "") -> dict:
    results = {}
    with psycopg.connect(libpq_url(dataset.url)) as conn:
        for name, (first, last, group_by) in report_periods(dataset).items():
            path = f"/api/v1/reports/sales?region=4302&from={first}&to={last}&group_by={group_by}"
            app_times, sql_times = [], []
            for _ in range(REPS):
                started = time.perf_counter()
                answer = json.loads(get_ok(app.base_url, path, token))
                app_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                totals, rows = queries.hand_sales(conn, "4302", first, last, group_by)
                sql_times.append(time.perf_counter() - started)
            if answer["totals"] != totals or len(answer["rows"]) != len(rows):
                raise RuntimeError(f"{name}: the app and the hand-written SQL disagree: {answer['totals']} vs {totals}")
            results[name] = {
                "app_s": statistics.median(app_times),
                "sql_s": statistics.median(sql_times),
                "ratio": statistics.median(app_times) / statistics.median(sql_times),
                "gmv_fen": totals["gmv_fen"],
                "rows": len(rows),
                "target": 1.5,
            }
            log(f"  report {name}{label}: app {results[name]['app_s']:.2f} s, SQL {results[name]['sql_s']:.2f} s")
    return results


# Hot SKU, RSS --------------------------------------------------------------------------


def measure_hot_sku(dataset, app, tokens: list[str]) -> dict:
    with psycopg.connect(libpq_url(dataset.url)) as conn:
        conn.execute("UPDATE skus SET stock = 50 WHERE id = %s", (dataset.hot_sku_id,))
        before = conn.execute("SELECT count(*) FROM order_lines WHERE sku_id = %s", (dataset.hot_sku_id,)).fetchone()[0]
    # Buyers other than the checkout ones, drawn afresh each run: the app allows a buyer only a few
    # unpaid orders, and earlier runs' hot-SKU orders stay unpaid until they expire.
    buyers = random.sample(tokens[CONNECTIONS:], 200)
    job = {"url": app.base_url, "sku_id": dataset.hot_sku_id, "tokens": buyers}
    output = subprocess.run(
        [sys.executable, "-m", "bench.hot_sku_client"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=True,
        cwd=servers.ROOT,
    ).stdout
    answers = json.loads(output)["results"]
    with psycopg.connect(libpq_url(dataset.url)) as conn:
        stock = conn.execute("SELECT stock FROM skus WHERE id = %s", (dataset.hot_sku_id,)).fetchone()[0]
        after = conn.execute("SELECT count(*) FROM order_lines WHERE sku_id = %s", (dataset.hot_sku_id,)).fetchone()[0]
    latencies = sorted(seconds * 1000 for _, seconds in answers)
    created = sum(1 for status, _ in answers if status == 201)
    out_of_stock = sum(1 for status, _ in answers if status == 409)
    result = {
        "buyers": len(answers),
        "units_sold": 50 - stock,
        "orders_created": created,
        "order_lines_written": after - before,
        "out_of_stock_409": out_of_stock,
        "errors": len(answers) - created - out_of_stock,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }
    result["p99_over_p50"] = result["p99_ms"] / result["p50_ms"]
    log(f"  hot SKU: {result}")
    return result


def measure_rss(dataset, app, requests: int = 10_000) -> dict:
    paths = [path for _, group in read_endpoints(dataset) for path in group]
    paths += [f"/api/v1/products?page={page}" for page in range(2, 6)]
    paths += [f"/api/v1/regions?parent={code}" for code in ("430202", "430211", "430223", "430225")]
    random.Random(7).shuffle(paths)
    load.wrk(app.base_url, "get", paths, seconds=2, connections=CONNECTIONS)  # warm-up
    before = {pid: servers.rss_kib(pid) for pid in app.worker_pids()}
    served = 0
    while served < requests:  # wrk runs for a time, not a count: repeat short runs until enough were served
        served += load.wrk(app.base_url, "get", paths, seconds=3, connections=CONNECTIONS).requests
    after = {pid: servers.rss_kib(pid) for pid in app.worker_pids()}
    growth = max((after[pid] - before[pid]) / before[pid] for pid in before if pid in after)
    result = {"requests": served, "before_kib": before, "after_kib": after, "max_growth": growth, "target": 0.10}
    log(f"  RSS: {before} → {after} (max growth {growth:.1%})")
    return result


# Checkout and notifications (sandbox mode) ------------------------------------------------------


def write_lines(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def measure_checkout(dataset, app, bare, tokens: list[str]) -> dict:
    token_file = write_lines(RESULTS / "tokens.txt", tokens[:CONNECTIONS])
    skus = ",".join(map(str, dataset.checkout_sku_ids))
    return paired(
        "checkout (order + payment)",
        app,
        bare,
        "checkout",
        lambda rep: [token_file, skus, "wechat_jsapi"],
        connections=CONNECTIONS,
        threads=CONNECTIONS,
    )


def measure_notifications(dataset, app, bare, bodies: list[str]) -> dict:
    per_rep = len(bodies) // REPS
    files = [
        write_lines(RESULTS / f"notify-{rep}.txt", bodies[rep * per_rep : (rep + 1) * per_rep]) for rep in range(REPS)
    ]
    result = paired(
        "payment notification",
        app,
        bare,
        "notify",
        lambda rep: [files[rep], str(CONNECTIONS)],
        connections=CONNECTIONS,
        threads=CONNECTIONS,
    )
    for path in files:
        Path(path).unlink(missing_ok=True)
    return result


def measure_large_order(dataset, app, sandbox_settings: dict, orders: int = 3) -> dict:
    """A 2,000-line order's payment notification, applied over HTTP: the median of ``orders`` orders."""
    import urllib.request

    bodies = queries.pending_notifications(dataset, sandbox_settings, orders, lines_per_order=LARGE_ORDER_LINES)
    times = []
    for body in bodies:
        request = urllib.request.Request(
            app.base_url + "/api/v1/payments/notify/wechat", data=body.encode(), headers={"Content-Type": "text/xml"}
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = response.read()
        times.append(time.perf_counter() - started)
        if b"SUCCESS" not in answer:
            raise RuntimeError(f"the {LARGE_ORDER_LINES}-line order's notification was not acknowledged: {answer!r}")
    with psycopg.connect(libpq_url(dataset.url)) as conn:
        out_trade_nos = [re.search(r"<out_trade_no>(?:<!\[CDATA\[)?(\w+)", body).group(1) for body in bodies]
        paid = conn.execute(
            "SELECT count(*) FROM payments WHERE out_trade_no = ANY(%s) AND status = 'paid'", (out_trade_nos,)
        ).fetchone()[0]
    if paid != len(bodies):
        raise RuntimeError(f"{paid} of {len(bodies)} large orders were paid")
    result = {"lines": LARGE_ORDER_LINES, "seconds": statistics.median(times), "all_s": times}
    result["target_s"] = LARGE_ORDER_TARGET_S
    log(f"  {LARGE_ORDER_LINES}-line order's notification: {', '.join(f'{t:.2f}' for t in times)} s")
    return result


# Cost growth ---------------------------------------------------------------------------------------


def growth_fractions() -> tuple[int, ...]:
    raw = os.environ.get("BENCH_GROWTH")
    return DEFAULT_GROWTH if raw is None else tuple(int(part) for part in raw.split(",") if part.strip())


def measure_growth(url: str, scale: Scale, bare: servers.Server) -> dict:
    """The reports and checkout on the same city with ¼ and ½ of the lines (each its own database)."""
    results = {}
    for fraction in growth_fractions():
        smaller_scale = dataclasses.replace(scale, lines=scale.lines // fraction)
        dataset = ensure_dataset(f"{url}_{smaller_scale.lines}l", smaller_scale, log=log)
        prefix = f"zzbench:{dataset.key}:{int(time.time())}:"
        prepared = queries.prepare(dataset, sandbox_env(dataset, prefix), CONNECTIONS)
        app = servers.gunicorn("app-growth", "wsgi:app", servers.APP_PORT, production_env(dataset, prefix), "/healthz")
        with app:
            reports = measure_reports(dataset, app, prepared["office_token"], f" at {smaller_scale.lines:,} lines")
        sandbox, app = sandbox_servers(dataset, prefix)
        with bare, sandbox, app:
            checkout = measure_checkout(dataset, app, bare, prepared["tokens"])
        results[smaller_scale.lines] = {"reports": reports, "checkout": checkout}
    return results


def sandbox_servers(dataset, cache_prefix: str) -> tuple[servers.Server, servers.Server]:
    settings = sandbox_env(dataset, cache_prefix)
    sandbox = servers.Server(
        "sandbox",
        [sys.executable, "-m", "flask", "--app", "wsgi", "sandbox", "serve", "--port", str(servers.SANDBOX_PORT)],
        settings,
        servers.SANDBOX_PORT,
        "/sandbox/requests",
    )
    app = servers.gunicorn("app-sandbox", "wsgi:app", servers.SANDBOX_APP_PORT, settings, "/healthz")
    return sandbox, app


# The run ------------------------------------------------------------------------------------------


def markdown(results: dict) -> str:
    rows = ["| figure | value | target | met |", "|---|---|---|---|"]

    def verdict(ok: bool | None) -> str:
        return "" if ok is None else ("yes" if ok else "**no**")

    for name, figure in results["http"].items():
        target = figure.get("target")
        ok = None if target is None else figure["ratio"] >= target
        queries_note = results["queries"].get(name)
        extra = f", {queries_note} SQL/request" if queries_note is not None else ""
        rows.append(
            f"| {name} rps ÷ bare | {figure['ratio']:.2f} ({figure['rps']:.0f} vs {figure['bare_rps']:.0f} rps, "
            f"p50 {figure['p50_ms']:.1f} ms, p99 {figure['p99_ms']:.1f} ms, {figure['errors']} errors{extra}) | "
            f"{'≥ ' + format(target, '.2f') if target is not None else '—'} | {verdict(ok)} |"
        )
    for name, figure in results["reports"].items():
        rows.append(
            f"| report {name}: app ÷ hand SQL | {figure['ratio']:.2f} "
            f"({figure['app_s']:.2f} s vs {figure['sql_s']:.2f} s) | ≤ 1.50 | {verdict(figure['ratio'] <= 1.5)} |"
        )
    hot = results["hot_sku"]
    hot_ok = hot["units_sold"] == 50 and hot["orders_created"] == 50 and hot["p99_over_p50"] <= 10 and not hot["errors"]
    rows.append(
        f"| hot SKU (200 buyers, stock 50) | {hot['units_sold']} sold, {hot['orders_created']} orders, "
        f"{hot['out_of_stock_409']} × 409, {hot['errors']} errors, p50 {hot['p50_ms']:.0f} ms, "
        f"p99 {hot['p99_ms']:.0f} ms (×{hot['p99_over_p50']:.1f}) | 50 sold, p99 ≤ 10× p50 | {verdict(hot_ok)} |"
    )
    rss = results["rss"]
    sizes = ", ".join(
        f"{rss['before_kib'][pid] // 1024}→{rss['after_kib'][pid] // 1024} MiB"
        for pid in rss["before_kib"]
        if pid in rss["after_kib"]
    )
    rows.append(
        f"| worker RSS over {rss['requests']:,} requests | max growth {rss['max_growth']:.1%} ({sizes}) "
        f"| < 10 % | {verdict(rss['max_growth'] < 0.10)} |"
    )
    large = results["large_order"]
    rows.append(
        f"| {large['lines']:,}-line order's notification applied | {large['seconds']:.2f} s (median of "
        f"{len(large['all_s'])}) | < {large['target_s']:.0f} s | {verdict(large['seconds'] < large['target_s'])} |"
    )
    return "\n".join(rows) + "\n\n" + growth_markdown(results["growth"])


def growth_markdown(growth: dict) -> str:
    """Cost against lines: each report's app and SQL time, checkout's rate, and the slope from the smallest."""
    sizes = sorted(growth)
    names = list(growth[sizes[0]]["reports"])
    rows = [
        "| lines | " + " | ".join(f"{name}: app s (SQL s)" for name in names) + " | checkout rps (÷ bare) |",
        "|---|" + "---|" * (len(names) + 1),
    ]
    for size in sizes:
        cells = [f"{figure['app_s']:.2f} ({figure['sql_s']:.2f})" for figure in growth[size]["reports"].values()]
        checkout = growth[size]["checkout"]
        rows.append(f"| {size:,} | " + " | ".join(cells) + f" | {checkout['rps']:.0f} ({checkout['ratio']:.3f}) |")
    first, last = sizes[0], sizes[-1]
    slopes = []
    for name in names:
        growth_ratio = growth[last]["reports"][name]["app_s"] / growth[first]["reports"][name]["app_s"]
        verdict = "no faster than linear" if growth_ratio <= last / first else "**faster than linear**"
        slopes.append(f"{name} ×{growth_ratio:.2f} ({verdict})")
    note = f"From {first:,} to {last:,} lines (×{last / first:.0f}), the app's report time grew: {'; '.join(slopes)}."
    return "\n".join(rows) + "\n\n" + note


def main(argv: list[str]) -> int:
    RESULTS.mkdir(exist_ok=True)
    started = time.perf_counter()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    dataset = ensure_dataset(url, Scale.from_env(), rebuild="--rebuild" in argv, log=log)
    cache_prefix = f"zzbench:{dataset.key}:{int(time.time())}:"
    clear_cache("zzbench:")
    prepared = queries.prepare(dataset, sandbox_env(dataset, cache_prefix), 1000)
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": {
            "key": dataset.key,
            "reused": dataset.reused,
            "build_seconds": dataset.build_seconds,
            **dataset.counts,
        },
        "settings": {"workers": servers.WORKERS, "connections": CONNECTIONS, "reps": REPS, "seconds": SECONDS},
    }
    bare = servers.gunicorn("bare", "bench.bare:app", servers.BARE_PORT, base_env(dataset, cache_prefix), "/bare")
    app = servers.gunicorn("app", "wsgi:app", servers.APP_PORT, production_env(dataset, cache_prefix), "/healthz")
    with bare, app:
        log("reads (production settings):")
        results["http"] = measure_reads(dataset, app, bare)
        log("reports at scale:")
        results["reports"] = measure_reports(dataset, app, prepared["office_token"])
        log("hot SKU:")
        results["hot_sku"] = measure_hot_sku(dataset, app, prepared["tokens"])
    # Workers that live through the 10,000 requests (production recycles them every ~2,000).
    app = servers.gunicorn(
        "app-rss", "wsgi:app", servers.APP_PORT, production_env(dataset, cache_prefix), "/healthz", "--max-requests=0"
    )
    with app:
        log("worker RSS:")
        results["rss"] = measure_rss(dataset, app)
    sandbox_settings = sandbox_env(dataset, cache_prefix)
    sandbox, app = sandbox_servers(dataset, cache_prefix)
    with bare, sandbox, app:
        log("checkout and notifications (development mode with the payment sandbox, same gunicorn settings):")
        results["http"]["checkout (order + payment)"] = measure_checkout(dataset, app, bare, prepared["tokens"])
        bodies = queries.pending_notifications(dataset, sandbox_settings, int(SECONDS * REPS * 400) + 500)
        results["http"]["payment notification"] = measure_notifications(dataset, app, bare, bodies[1:])
        results["large_order"] = measure_large_order(dataset, app, sandbox_settings)
        log("SQL per request (in-process, same settings):")
        results["queries"] = queries.count_per_request(
            dataset,
            production_env(dataset, cache_prefix),
            sandbox_settings,
            read_endpoints(dataset),
            prepared["tokens"][-1],
            bodies[0],
        )
        log(f"  {results['queries']}")
    log("cost growth (the same city with fewer lines):")
    results["growth"] = measure_growth(url, Scale.from_env(), bare)
    results["growth"][dataset.counts.get("order_lines", Scale.from_env().lines)] = {
        "reports": results["reports"],
        "checkout": results["http"]["checkout (order + payment)"],
    }
    results["seconds"] = round(time.perf_counter() - started)
    (RESULTS / "latest.json").write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str) + "\n")
    table = markdown(results)
    (RESULTS / "latest.md").write_text(table + "\n")
    print()
    print(table)
    print(f"\n{results['seconds']} s in all; bench/results/latest.json")
    return 0
