"""A separate process: N buyers check out the same SKU at the same instant (``python -m bench.hot_sku_client``).

Reads ``{"url", "sku_id", "tokens": [...]}`` on stdin, opens one connection per
buyer, releases every request at once from a barrier, and prints a JSON line
with each answer's status and latency.
"""

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlsplit


def main() -> None:
    job = json.load(sys.stdin)
    target = urlsplit(job["url"])
    body = json.dumps(
        {
            "items": [{"sku_id": job["sku_id"], "quantity": 1}],
            "address": {"name": "李四", "phone": "13900139000", "region_code": "430225", "detail": "炎陵县霞阳镇2号"},
        }
    ).encode()
    barrier = threading.Barrier(len(job["tokens"]))
    results: list[tuple[int, float]] = []
    lock = threading.Lock()

    def buy(token: str) -> None:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        try:
            connection.connect()
            barrier.wait()
            started = time.perf_counter()
            connection.request("POST", "/api/v1/orders", body, headers)
            status = connection.getresponse().status
        except OSError:
            status = 0
            started = time.perf_counter()
        elapsed = time.perf_counter() - started
        with lock:
            results.append((status, elapsed))
        connection.close()

    threads = [threading.Thread(target=buy, args=(token,)) for token in job["tokens"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main()
