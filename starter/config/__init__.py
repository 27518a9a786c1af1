"""Settings and logs: what every Overture process reads first."""
