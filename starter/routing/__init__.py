"""Events to journeys: the journey registry, the event router, and intake (store first, route once)."""
