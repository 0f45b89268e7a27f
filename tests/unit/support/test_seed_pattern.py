"""The seed pattern the secret scans use matches every nkey seed and never a public key."""
from __future__ import annotations

import os

import nkeys
import pytest

from tests.support.creds_checks import SEED

KINDS = {"operator": nkeys.PREFIX_BYTE_OPERATOR, "account": nkeys.PREFIX_BYTE_ACCOUNT, "user": nkeys.PREFIX_BYTE_USER}


def _seed(prefix: int) -> str:
    return nkeys.encode_seed(os.urandom(32), prefix).decode()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_seed_kind_matches_alone_and_inside_text(kind: str) -> None:
    for _ in range(200):
        seed = _seed(KINDS[kind])
        assert len(seed) == 58
        assert SEED.fullmatch(seed), seed[:4]
        for text in (f"seed: {seed}\n", f'"{seed}"', f"-----\n{seed}\n------END USER NKEY SEED------"):
            found = SEED.search(text)
            assert found and found.group(0) == seed


def test_ten_thousand_public_keys_never_match() -> None:
    kinds = list(KINDS.values())
    keys = [nkeys.from_seed(_seed(kinds[i % 3]).encode()).public_key.decode() for i in range(10_000)]
    assert all(len(k) == 56 for k in keys)
    # Alone, quoted, and run together with the base32 text of a neighbour (as in a JSON dump).
    hits = [k for k in keys if SEED.search(k) or SEED.search(f'"{k}",') or SEED.search(k + "S")]
    assert not hits, hits[:3]
    # The case that failed once: a user key that contains "SOA" followed by more base32.
    assert any("SOA" in k or "SUA" in k or "SAA" in k for k in keys), "no key exercised the old false match"


def test_seed_inside_a_longer_base32_run_is_not_a_seed() -> None:
    seed = _seed(nkeys.PREFIX_BYTE_USER)
    assert not SEED.search("A" + seed) and not SEED.search(seed + "B")
    assert not SEED.search(seed[:-1])
