"""The send activity: consent, caps, failover, retries, crashes."""
