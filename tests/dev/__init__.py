"""`overture dev`, `overture simulate`, and durability across crashes."""
