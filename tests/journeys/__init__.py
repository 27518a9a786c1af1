"""The bundled example journeys, branch by branch."""
