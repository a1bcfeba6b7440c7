"""Read queries only the console needs, composed from the domain services (scoped like them)."""
