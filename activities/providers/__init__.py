"""Providers: one module per way of delivering a rendered message, and the parsers of their callbacks."""
