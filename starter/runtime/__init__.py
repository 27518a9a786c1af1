"""What a running process is made of: the Temporal connection, the stores and services, the worker."""
