"""Worker start-up checks."""
