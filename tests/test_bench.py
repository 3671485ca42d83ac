"""The GPU model benchmark's cases, checked on the CPU: a typo in one would surface only on the device."""

from restore_cli.bench import DEFAULT_CASES
from restore_cli.cards import find_card


def test_every_case_names_a_catalog_architecture_and_tiles_sensibly():
    for case in DEFAULT_CASES:
        card = find_card(case.card_id)
        assert card.arch_class, case
        assert case.tile == 0 or case.tile >= 64, case
        assert case.tile_batch >= 1, case
    # the memory-target case must bound memory by one tile, not by four (which outweigh the whole image)
    bounded = [c for c in DEFAULT_CASES if "one at a time" in c.label]
    assert bounded and all(c.tile and c.tile_batch == 1 for c in bounded)
