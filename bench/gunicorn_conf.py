"""The bench's gunicorn settings: none beyond its command line (``bench.servers.gunicorn``).

Named with ``--config`` so gunicorn does not pick up the production ``gunicorn.conf.py`` from the
working directory: its gthread workers, ``max_requests`` recycling (the RSS figure needs workers
that live through 10,000 requests), access log and preloading are not what the bench measures, and
its ``post_fork`` needs the app's database, which the bare route does not have.
"""
