"""A bench-only app: the baseline a list endpoint is compared with (never installed in production)."""
