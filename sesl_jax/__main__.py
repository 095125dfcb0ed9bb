"""``python -m sesl_jax ...``: the ``sesl-jax`` command, for environments without the script on PATH."""

if __name__ == "__main__":
    from sesl_jax.cli import main

    raise SystemExit(main())
