"""The benchmark matrix and the glue between Snakemake, DVC and the CLI."""
