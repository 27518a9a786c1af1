"""Every provider against a real local server that speaks its protocol."""
