"""`python -m bench --quick`: catalogue reads against a bare Flask route, in one process.

Builds a throw-away SQLite database with the demo city (about 200 products),
then times requests through the WSGI test client: a bare Flask app's route,
the cached home feed, a cached product page and a (now also cached) search. Prints
requests per second and each one's ratio to the bare route.
"""

import os
import sys
import tempfile
import time

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3000"))


def _rate(client, path: str, count: int) -> float:
    assert client.get(path).status_code == 200, path  # warm the cache
    start = time.perf_counter()
    for _ in range(count):
        client.get(path)
    return count / (time.perf_counter() - start)


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="zhuzhou-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir}/bench.db")
    os.environ.setdefault("UPLOAD_DIR", f"{workdir}/uploads")
    # The demo seed pays through a gateway simulator; one it starts keeps its state here, not in instance/.
    os.environ.setdefault("SANDBOX_STATE_FILE", f"{workdir}/sandbox-state.json")

    from flask import Flask
    from flask_migrate import upgrade

    from app import create_app
    from core.extensions import db
    from demo.seed import seed_demo_city

    app = create_app()
    with app.app_context():
        upgrade()
        seed_demo_city()
        db.session.commit()

    bare = Flask("bare")
    bare.get("/bare")(lambda: {"status": "ok"})
    client = app.test_client()
    product_id = client.get("/api/v1/products").json["items"][0]["id"]
    baseline = _rate(bare.test_client(), "/bare", REQUESTS)
    print(f"{'bare Flask route':28} {baseline:8.0f} req/s")
    for label, path, count in (
        ("home feed (cached)", "/api/v1/products", REQUESTS),
        ("product page (cached)", f"/api/v1/products/{product_id}", REQUESTS),
        ("search q=黄桃 (cached)", "/api/v1/products?q=黄桃", REQUESTS),
    ):
        rate = _rate(client, path, count)
        print(f"{label:28} {rate:8.0f} req/s  {rate / baseline:5.2f}× bare")


if __name__ == "__main__":
    sys.exit(main())
