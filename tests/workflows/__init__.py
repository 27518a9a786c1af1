"""The journey language and replay of recorded histories."""
