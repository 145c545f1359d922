"""Shared infrastructure of every stage: config, results layout, table schemas and IO, file
writing, snapshots, progress, metrics, provenance, Jones's published constants."""
