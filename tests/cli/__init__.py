"""The `overture` command."""
