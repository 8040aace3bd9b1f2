"""AWS access: the session factory and collectors (plain functions: session in, records out; no Dagster)."""
