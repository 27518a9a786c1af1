"""Providers: one module per way of delivering a rendered message."""
