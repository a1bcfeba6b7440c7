"""The bare Flask route every figure is divided by: the same JSON, no extensions, no database."""

from flask import Flask

app = Flask("bare")
app.json.ensure_ascii = False
app.json.sort_keys = False


@app.get("/bare")
def bare():
    """What /healthz returns, from nothing but Flask."""
    return {"status": "ok"}
