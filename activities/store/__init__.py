"""The database layer: the connection, the tables, and one store per table."""
