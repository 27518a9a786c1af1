"""Local stand-ins for providers: real servers on loopback that speak each provider's protocol."""
