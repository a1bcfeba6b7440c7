"""One blueprint per console area, nested under the ``console`` blueprint (console.blueprint)."""
