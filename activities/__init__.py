"""All I/O: the database, template rendering, and the activities journeys call."""
