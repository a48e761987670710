"""`python -m graph_service` runs the CLI."""

from graph_service.cli import main

main()
