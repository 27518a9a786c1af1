"""Deterministic experiment assignment: the same customer always gets the same variant.

The variant is picked by a stable hash of experiment name and customer id (SHA-256, identical on
every machine and Python version), so it needs no storage, survives replays and re-entries, and
results can be recomputed later from the deliveries and conversions that record it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from workflows.spec import JourneyDefinitionError

HOLDOUT = "holdout"


def assign_variant(customer_id: str, experiment: str, variants: Sequence[str], weights: Sequence[float] | None) -> str:
    """The customer's variant of `experiment`; `weights` default to an even split."""
    if not variants or len(set(variants)) != len(variants):
        raise JourneyDefinitionError(f"experiment {experiment!r} needs distinct variants, got {list(variants)}")
    shares = list(weights) if weights is not None else [1.0] * len(variants)
    if len(shares) != len(variants) or any(share < 0 for share in shares) or sum(shares) <= 0:
        raise JourneyDefinitionError(f"experiment {experiment!r}: one non-negative weight per variant, not {shares}")
    digest = hashlib.sha256(f"{experiment}\x00{customer_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * sum(shares)
    cumulative = 0.0
    for variant, share in zip(variants, shares, strict=True):
        cumulative += share
        if point < cumulative:
            return variant
    return variants[-1]


def encode_variants(variants: Mapping[str, str]) -> str | None:
    """`{"offer": "discount", "copy": "b"}` -> `"copy=b;offer=discount"` (None when empty): the
    form stored on deliveries and conversions."""
    return ";".join(f"{name}={variant}" for name, variant in sorted(variants.items())) or None
