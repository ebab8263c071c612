"""Worked examples of replica division: Karmada's documented and tested numbers (v1.16+), by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tmc_core.errors import InvalidInput
from tmc_core.placement import divide as divide_module
from tmc_core.placement.divide import (
    Division,
    _webster_reference,
    _webster_within,
    divide_duplicated,
    divide_dynamic,
    divide_static,
    fnv32a,
    static_weights,
    tie_descending,
    webster,
)

M3 = ["m1", "m2", "m3"]
ODD_UID = "uid-1"  # FNV-32a 0x50c45a43: odd, ties go to names in descending order
EVEN_UID = "uid-2"  # FNV-32a 0x51c45bd6: even, ascending like the empty UID


@pytest.fixture(autouse=True, params=["heap", "vectorised"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run every example twice: small problems by the heap, and forced through the vectorised path."""
    if request.param == "vectorised":
        monkeypatch.setattr(divide_module, "_SMALL_PROBLEM", 0)
    return str(request.param)


def dyn(replicas: int, free: list[int], prev: list[int], **kw: object) -> list[int]:
    """Replicas of a schedulable dynamic division over m1.. as a plain list."""
    names = [f"m{i + 1}" for i in range(len(free))]
    uid = str(kw.pop("uid", ""))
    d = divide_dynamic(replicas, free, prev, names, uid, **kw)  # type: ignore[arg-type]
    assert d.schedulable, d.message
    assert d.replicas is not None
    return [int(x) for x in d.replicas]


# --------------------------------------------------------------------------------------------------
# FNV-32a and the tie direction


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", 0x811C9DC5), ("a", 0xE40C292C), ("foobar", 0xBF9CF968), (ODD_UID, 0x50C45A43)],
)
def test_fnv32a_known_vectors(text: str, expected: int) -> None:
    assert fnv32a(text) == expected


def test_tie_direction_follows_hash_parity_and_empty_uid_is_ascending() -> None:
    assert fnv32a("") % 2 == 1  # odd, yet the empty UID means ascending
    assert tie_descending("") is False
    assert tie_descending(ODD_UID) is True
    assert tie_descending(EVEN_UID) is False
    assert tie_descending("3f2a1c9e-0000-4000-8000-000000000002") is True
    assert tie_descending("3f2a1c9e-0000-4000-8000-000000000001") is False


# --------------------------------------------------------------------------------------------------
# Webster: the cases of Karmada's webstermethod_test.go


def test_webster_example_alpha_beta_gamma() -> None:
    got = webster(4, [1200, 900, 400], ["Alpha", "Beta", "Gamma"])
    assert got.tolist() == [2, 1, 1]
    assert got.dtype == np.int64


@pytest.mark.parametrize(
    ("seats", "expected"),
    [
        (1, [1, 0, 0, 0]),
        (2, [1, 1, 0, 0]),
        (3, [2, 1, 0, 0]),
        (4, [2, 1, 1, 0]),
        (5, [2, 2, 1, 0]),
        (6, [2, 2, 1, 1]),  # A (100000/5) and D (20000/1) tie exactly: D holds fewer seats
        (7, [3, 2, 1, 1]),
        (8, [3, 3, 1, 1]),
    ],
)
def test_webster_wikipedia_rounds(seats: int, expected: list[int]) -> None:
    """Karmada's round-by-round test, in the version whose ties go to fewer seats first."""
    votes = [100_000, 80_000, 30_000, 20_000]
    names = ["PartyA", "PartyB", "PartyC", "PartyD"]
    assert webster(seats, votes, names).tolist() == expected


def test_webster_no_parties() -> None:
    assert webster(0, [], []).tolist() == []
    with pytest.raises(InvalidInput, match="no party"):
        webster(1, [], [])


def test_webster_zero_seats_gives_nothing() -> None:
    assert webster(0, [100, 200], ["PartyA", "PartyB"]).tolist() == [0, 0]


def test_webster_more_votes_wins() -> None:
    assert webster(1, [1, 2], ["PartyA", "PartyB"]).tolist() == [0, 1]


def test_webster_tie_goes_to_fewer_seats() -> None:
    # 3 / (2*1 + 1) == 1 / (2*0 + 1): PartyB holds fewer seats
    assert webster(1, [3, 1], ["PartyA", "PartyB"], initial=[1, 0]).tolist() == [1, 1]


def test_webster_tie_goes_to_fewer_seats_even_without_votes() -> None:
    got = webster(1, [0, 0], ["PartyA", "PartyB"], initial=[2, 1])
    assert got.tolist() == [2, 2]


def test_webster_tie_goes_to_name_ascending_or_descending() -> None:
    names = ["PartyA", "PartyB"]
    assert webster(1, [1, 1], names).tolist() == [1, 0]
    assert webster(1, [1, 1], names, uid=EVEN_UID).tolist() == [1, 0]
    assert webster(1, [1, 1], names, uid=ODD_UID).tolist() == [0, 1]


def test_webster_new_parties_join_an_old_one_without_votes() -> None:
    got = webster(2, [1, 1, 0], ["NewParty1", "NewParty2", "OldParty"], initial=[0, 0, 0])
    assert got.tolist() == [1, 1, 0]


def test_webster_old_and_new_party_compete() -> None:
    got = webster(2, [1, 1], ["OldParty", "NewParty"], initial=[1, 0])
    assert got.tolist() == [1, 2]


def test_webster_initial_seats_without_votes_are_kept() -> None:
    got = webster(2, [100, 0], ["PartyA", "PartyB"], initial=[0, 3])
    assert got.tolist() == [2, 3]


def test_webster_result_is_aligned_with_input_order() -> None:
    got = webster(4, [400, 1200, 900], ["Gamma", "Alpha", "Beta"])
    assert got.tolist() == [1, 2, 1]


def test_webster_all_zero_votes_levels_seats() -> None:
    # entries by (seats held, name): a0 a1 b1 a2 b2 a3 b3
    got = webster(7, [0, 0, 0], ["c", "a", "b"], initial=[3, 0, 1])
    assert got.tolist() == [3, 4, 4]
    ref = _webster_reference(7, [0, 0, 0], ["c", "a", "b"], initial=[3, 0, 1])
    assert got.tolist() == ref.tolist()


def test_webster_large_case_matches_reference() -> None:
    rng = np.random.default_rng(7)
    votes = rng.integers(0, 50, 40)
    votes[::7] = 12  # plenty of exact ties
    names = [f"cluster-{i:02d}" for i in rng.permutation(40)]
    initial = rng.integers(0, 3, 40)
    for uid in ("", ODD_UID):
        fast = webster(3000, votes, names, initial=initial, uid=uid)
        slow = _webster_reference(3000, votes, names, initial=initial, uid=uid)
        assert fast.tolist() == slow.tolist()


def test_webster_hundred_thousand_seats_over_five_thousand_parties() -> None:
    rng = np.random.default_rng(11)
    votes = rng.integers(1, 1000, 5000)
    names = [f"cluster-{i:05d}" for i in range(5000)]
    got = webster(100_000, votes, names)
    assert int(got.sum()) == 100_000
    # the last seat handed out has a quotient no smaller than any party's next one
    last = votes / (2 * (got - 1) + 1)
    following = votes / (2 * got + 1)
    assert last[got > 0].min() >= following.max()


def test_webster_equal_votes_many_parties() -> None:
    names = [f"c{i:04d}" for i in range(5000)]
    got = webster(100_003, np.full(5000, 7), names)
    assert got[:3].tolist() == [21, 21, 21] and got[3:].tolist() == [20] * 4997
    got = webster(100_003, np.full(5000, 7), names, uid=ODD_UID)
    assert got[-3:].tolist() == [21, 21, 21] and got[:-3].tolist() == [20] * 4997


# --------------------------------------------------------------------------------------------------
# the capacity guard


def test_capacity_guard_hands_excess_seats_on() -> None:
    assert webster(6, [10, 1], ["a", "b"]).tolist() == [5, 1]
    assert _webster_within(6, [10, 1], ["a", "b"], room=[3, 100]).tolist() == [3, 3]
    got = _webster_within(7, [10, 10, 1], ["a", "b", "c"], room=[2, 100, 100])
    assert got.tolist() == [2, 5, 0]
    ref = _webster_reference(7, [10, 10, 1], ["a", "b", "c"], room=[2, 100, 100])
    assert got.tolist() == ref.tolist()


def test_capacity_guard_refuses_what_cannot_fit() -> None:
    with pytest.raises(InvalidInput, match="do not fit"):
        _webster_within(5, [3, 1], ["a", "b"], room=[2, 2])


def test_webster_never_exceeds_votes_when_seats_fit_the_votes() -> None:
    """Why the guard is a no-op under all-or-nothing: 1 + 1 + 1 + 5 = 8 seats, nobody above votes."""
    got = webster(8, [5, 1, 1, 1], ["big", "s1", "s2", "s3"])
    assert got.tolist() == [5, 1, 1, 1]


# --------------------------------------------------------------------------------------------------
# Duplicated and StaticWeight


def test_duplicated_gives_everyone_everything() -> None:
    assert divide_duplicated(5, 3).tolist() == [5, 5, 5]
    assert divide_duplicated(5, 0).tolist() == []


@pytest.mark.parametrize(
    ("replicas", "weights", "expected"),
    [
        (3, [1, 1], [2, 1]),
        (12, [3, 2, 1], [6, 4, 2]),
        (13, [3, 2, 1], [7, 4, 2]),
        (14, [3, 2, 1], [7, 5, 2]),
        (2, [2, 1], [1, 1]),  # v1.15 gave 2/0 (issue #6424)
        (12, [20, 12, 6], [6, 4, 2]),  # v1.15 gave 7/4/1
        (9, [1, 2], [3, 6]),  # assignment.go's table
        (9, [1, 3], [2, 7]),
        (5, [170, 110, 60], [2, 2, 1]),  # issue #6735
        (0, [3, 2, 1], [0, 0, 0]),
    ],
)
def test_static_examples(replicas: int, weights: list[int], expected: list[int]) -> None:
    names = [f"m{i + 1}" for i in range(len(weights))]
    assert divide_static(replicas, weights, names).tolist() == expected


def test_static_issue_6735_never_takes_replicas_away_when_scaling_up() -> None:
    names = ["southcentralus", "westus", "eastus2"]
    previous = np.zeros(3, dtype=np.int64)
    for total in range(1, 200):
        got = divide_static(total, [170, 110, 60], names)
        assert int(got.sum()) == total
        assert (got >= previous).all()
        previous = got


def test_static_weight_zero_is_not_eligible() -> None:
    assert divide_static(5, [0, 1, 1], M3).tolist() == [0, 3, 2]
    with pytest.raises(InvalidInput, match="positive weight"):
        divide_static(1, [0, 0], ["a", "b"])
    assert divide_static(0, [0, 0], ["a", "b"]).tolist() == [0, 0]


def test_static_ties_mirror_with_an_odd_uid() -> None:
    assert divide_static(3, [1, 1], ["m1", "m2"]).tolist() == [2, 1]
    assert divide_static(3, [1, 1], ["m1", "m2"], ODD_UID).tolist() == [1, 2]
    assert divide_static(4, [1, 1, 1], M3).tolist() == [2, 1, 1]
    assert divide_static(4, [1, 1, 1], M3, ODD_UID).tolist() == [1, 1, 2]


def test_static_weights_take_the_max_over_matching_rules() -> None:
    matches = np.array([[True, True, False], [True, False, False], [False, False, True]])
    assert static_weights(matches, [1, 3, 2]).tolist() == [3, 1, 2]


def test_static_weights_fall_back_to_one_each() -> None:
    none_match = np.zeros((2, 3), dtype=bool)
    assert static_weights(none_match, [4, 5]).tolist() == [1, 1, 1]
    no_rules = np.zeros((0, 3), dtype=bool)
    assert static_weights(no_rules, np.zeros(0, dtype=np.int64)).tolist() == [1, 1, 1]
    assert static_weights(np.zeros((1, 0), dtype=bool), [2]).tolist() == []


def test_static_weights_unmatched_cluster_gets_zero() -> None:
    matches = np.array([[True, False, False]])
    weights = static_weights(matches, [2])
    assert weights.tolist() == [2, 0, 0]
    assert divide_static(7, weights, M3).tolist() == [7, 0, 0]


def test_static_weights_rejects_bad_shapes() -> None:
    with pytest.raises(InvalidInput):
        static_weights(np.zeros(3, dtype=bool), [1])
    with pytest.raises(InvalidInput):
        static_weights(np.zeros((2, 3), dtype=bool), [1])


# --------------------------------------------------------------------------------------------------
# DynamicWeight and Aggregated, Steady mode (Karmada's unit-test and documentation examples)


def test_dynamic_first_schedule() -> None:
    assert dyn(12, [6, 8, 10], [0, 0, 0], aggregated=False) == [3, 4, 5]


def test_dynamic_documented_example() -> None:
    """Karmada's user guide: 12 replicas, available 6 / 12 / 18 -> 2 / 4 / 6."""
    assert dyn(12, [6, 12, 18], [0, 0, 0], aggregated=False) == [2, 4, 6]


def test_aggregated_first_schedule_uses_fewest_clusters() -> None:
    assert dyn(12, [6, 8, 10], [0, 0, 0], aggregated=True) == [0, 5, 7]


def test_aggregated_scale_up_adds_to_previous() -> None:
    assert dyn(24, [4, 6, 8], [4, 8, 0], aggregated=True) == [7, 12, 5]


def test_dynamic_scale_up_adds_delta_over_free_capacity() -> None:
    assert dyn(24, [4, 6, 8], [4, 8, 0], aggregated=False) == [7, 12, 5]


def test_aggregated_scale_up_prefers_clusters_already_running() -> None:
    # sorted by free: m2 20, m3 5, m1 2; m3 runs a replica so it goes first: prefix [m3, m2]
    assert dyn(10, [2, 20, 5], [0, 0, 1], aggregated=True) == [0, 7, 3]
    # the delta fits the running cluster alone
    assert dyn(4, [2, 20, 5], [0, 0, 1], aggregated=True) == [0, 0, 4]


def test_dynamic_scale_down_is_proportional_to_previous() -> None:
    assert dyn(6, [0, 0, 0], [2, 4, 6], aggregated=False) == [1, 2, 3]


def test_aggregated_scale_down_vacates_small_clusters() -> None:
    assert dyn(6, [0, 0, 0], [4, 8, 0], aggregated=True) == [0, 6, 0]


def test_scale_down_ignores_free_capacity() -> None:
    assert dyn(6, [100, 0, 0], [2, 4, 6], aggregated=False) == [1, 2, 3]


def test_scale_down_to_zero() -> None:
    assert dyn(0, [1, 1, 1], [2, 4, 6], aggregated=False) == [0, 0, 0]
    assert dyn(0, [1, 1, 1], [2, 4, 6], aggregated=True) == [0, 0, 0]


def test_unchanged_total_keeps_previous_even_without_capacity() -> None:
    d = divide_dynamic(12, [0, 0, 0], [4, 8, 0], M3, aggregated=False)
    assert d == Division(replicas=np.array([4, 8, 0]), schedulable=True)
    assert dyn(0, [5, 5, 5], [0, 0, 0], aggregated=True) == [0, 0, 0]


def test_fresh_divides_everything_over_free_plus_previous() -> None:
    # weights 8 / 14 / 8
    assert dyn(12, [4, 6, 8], [4, 8, 0], aggregated=False, fresh=True) == [3, 6, 3]
    assert dyn(12, [4, 6, 8], [4, 8, 0], aggregated=True, fresh=True) == [0, 12, 0]


def test_dynamic_ties_mirror_with_an_odd_uid() -> None:
    assert dyn(5, [2, 2, 2], [0, 0, 0], aggregated=False) == [2, 2, 1]
    assert dyn(5, [2, 2, 2], [0, 0, 0], aggregated=False, uid=EVEN_UID) == [2, 2, 1]
    assert dyn(5, [2, 2, 2], [0, 0, 0], aggregated=False, uid=ODD_UID) == [1, 2, 2]


def test_aggregated_prefix_cut_keeps_candidate_order_among_equal_weights() -> None:
    assert dyn(3, [5, 5, 5], [0, 0, 0], aggregated=True) == [3, 0, 0]
    # the uid breaks Webster ties only, not the prefix (which is candidate order)
    assert dyn(3, [5, 5, 5], [0, 0, 0], aggregated=True, uid=ODD_UID) == [3, 0, 0]
    names = ["m3", "m1", "m2"]
    d = divide_dynamic(3, [5, 5, 5], [0, 0, 0], names, aggregated=True)
    assert d.replicas is not None and d.replicas.tolist() == [3, 0, 0]


def test_dynamic_unschedulable_is_all_or_nothing() -> None:
    d = divide_dynamic(10, [3, 4], [0, 0], ["a", "b"], aggregated=False)
    assert d == Division(
        replicas=None,
        schedulable=False,
        message="Clusters available replicas 7 are not enough to schedule.",
        shortfall=3,
    )


def test_dynamic_unschedulable_scale_up_counts_only_the_delta() -> None:
    d = divide_dynamic(10, [2, 3], [4, 0], ["a", "b"], aggregated=True)
    assert not d.schedulable and d.replicas is None
    assert d.message == "Clusters available replicas 5 are not enough to schedule."
    assert d.shortfall == 1
    assert dyn(9, [2, 3], [4, 0], aggregated=True) == [6, 3]


def test_dynamic_unschedulable_fresh() -> None:
    d = divide_dynamic(13, [4, 6, 8], [4, 8, 0], M3, aggregated=False, fresh=True)
    assert d.schedulable  # 30 >= 13
    d = divide_dynamic(31, [4, 6, 8], [4, 8, 0], M3, aggregated=False, fresh=True)
    assert (d.schedulable, d.shortfall) == (False, 1)
    assert d.message == "Clusters available replicas 30 are not enough to schedule."


def test_dynamic_without_candidates() -> None:
    d = divide_dynamic(1, [], [], [], aggregated=False)
    assert (d.schedulable, d.shortfall) == (False, 1)
    d = divide_dynamic(0, [], [], [], aggregated=True)
    assert d.schedulable and d.replicas is not None and d.replicas.tolist() == []


def test_division_is_a_read_only_value() -> None:
    d = divide_dynamic(12, [6, 8, 10], [0, 0, 0], M3, aggregated=False)
    assert d.replicas is not None
    with pytest.raises(ValueError, match="read-only"):
        d.replicas[0] = 1
    assert d == divide_dynamic(12, [6, 8, 10], [0, 0, 0], M3, aggregated=False)
    assert d != divide_dynamic(12, [6, 8, 20], [0, 0, 0], M3, aggregated=False)
    assert d != "something else"


# --------------------------------------------------------------------------------------------------
# bad input


def test_bad_input_is_rejected_with_a_field_path() -> None:
    with pytest.raises(InvalidInput, match="names: cluster names must be unique"):
        webster(1, [1, 1], ["a", "a"])
    with pytest.raises(InvalidInput, match="votes: must not be negative"):
        webster(1, [1, -1], ["a", "b"])
    with pytest.raises(InvalidInput, match="names: has 1 entries, expected 2"):
        webster(1, [1, 1], ["a"])
    with pytest.raises(InvalidInput, match="initial: has 1 entries"):
        webster(1, [1, 1], ["a", "b"], initial=[0])
    with pytest.raises(InvalidInput, match="votes: must hold whole numbers"):
        webster(1, [1.5, 1.0], ["a", "b"])
    with pytest.raises(InvalidInput, match="seats: must not be negative"):
        webster(-1, [1], ["a"])
    with pytest.raises(InvalidInput, match="replicas: must be an integer"):
        divide_static(2.0, [1], ["a"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="available: has 2 entries, expected 3"):
        divide_dynamic(1, [1, 1], [0, 0, 0], M3, aggregated=False)
    with pytest.raises(InvalidInput, match="previous: must not be negative"):
        divide_dynamic(1, [1, 1, 1], [0, -1, 0], M3, aggregated=False)
    with pytest.raises(InvalidInput, match="votes: must be a 1-D array"):
        webster(1, [[1]], ["a"])


def test_whole_floats_and_numpy_ints_are_accepted() -> None:
    assert webster(np.int64(3), np.array([1.0, 1.0]), ["a", "b"]).tolist() == [2, 1]
