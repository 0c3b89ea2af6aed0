"""`python -m services.cli ...` is `juke ...` (used where the console script may not be on PATH)."""

from services.cli.main import main

main()
