"""`overture dev` and `overture simulate`: the embedded stack and the journey simulator."""
