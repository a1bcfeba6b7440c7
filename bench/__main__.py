"""`make bench` (`python -m bench`): the city at scale over HTTP; `--quick`: the old in-process check.

Options: ``--quick`` (SQLite, test client, ~200 products, no servers), ``--rebuild``
(build the dataset again even when the database holds the current one).
Environment: ``BENCH_DATABASE_URL``, ``BENCH_REDIS_URL``, ``BENCH_REPS``,
``BENCH_SECONDS``, ``BENCH_CONNECTIONS``, ``BENCH_WORKERS``; ``BENCH_LINES``,
``BENCH_PRODUCTS`` … shrink the dataset.
"""

import sys

if __name__ == "__main__":
    if "--quick" in sys.argv[1:]:
        from bench.quick import main

        sys.exit(main())
    from bench.run import main

    sys.exit(main(sys.argv[1:]))
