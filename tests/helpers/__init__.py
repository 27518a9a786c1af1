"""Support for the tests: settings and polling, fake providers, API stacks, subprocesses, test journeys."""
