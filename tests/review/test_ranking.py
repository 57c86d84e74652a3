"""Ranking, tie-break, divergence and the funding line on hand-computed examples (EU and NSFC).

The order (review/ranking.py): mean ↓, share of "fund" ↓, spread ↑, submission ↑, number ↑.
Divergent: spread > 1/3 of the scheme's range (EU > 5 of 0–15; NSFC > 1 letter).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from grants.enums import ApplicationState
from review.ranking import call_ranking
from tests import factories as f

S = ApplicationState
pytestmark = pytest.mark.django_db

T0 = timezone.now() - timedelta(days=30)


def proposal(call, name, budget, *, state=S.UNDER_REVIEW, minutes=0):
    application = f.ApplicationFactory(call=call, title=name, budget={"business": Decimal(budget)})
    return f.set_state(
        application,
        state,
        number=f"BF-2027-{application.pk:06d}",
        submitted_at=T0 + timedelta(minutes=minutes),
    )


def reviews(application, *pairs):
    for total, recommendation in pairs:
        f.review(application, total, recommendation)


def eu_call(**kw):
    return f.CallFactory(scoring_scheme="eu", **kw)


@pytest.fixture
def eu_example():
    call = eu_call(total_budget=Decimal("2000000.00"))
    p = {}
    p["A"] = proposal(call, "A", "700000", minutes=1)
    reviews(p["A"], (13, "fund"), (12, "fund"), (14, "fund"))  # 13.000, spread 2, fund 1
    p["B"] = proposal(call, "B", "500000", minutes=2)
    reviews(p["B"], (13, "fund"), (13, "fund"))  # 13.000, spread 0, fund 1
    p["C"] = proposal(call, "C", "300000", minutes=3)
    reviews(p["C"], ("14.5", "fund"), (8, "do_not_fund"))  # 11.25, spread 6.5 (divergent)
    p["D"] = proposal(call, "D", "400000", minutes=4)
    reviews(p["D"], ("11.5", "fund"), (11, "do_not_fund"))  # 11.25, spread 0.5
    p["E"] = proposal(call, "E", "100000", minutes=5)
    reviews(p["E"], (9, "do_not_fund"), (10, "do_not_fund"), (11, "do_not_fund"))  # 10, spr 2
    p["G"] = proposal(call, "G", "200000", minutes=6)
    reviews(p["G"], (10, "do_not_fund"), (10, "do_not_fund"))  # 10, spread 0, earlier
    p["H"] = proposal(call, "H", "100000", minutes=7)
    reviews(p["H"], (10, "do_not_fund"), (10, "do_not_fund"))  # 10, spread 0, later
    p["F"] = proposal(call, "F", "50000", minutes=0)  # no submitted review
    # a draft review and an invited assignment do not count
    draft = f.review(p["F"], 15, "fund")
    type(draft).objects.filter(pk=draft.pk).update(submitted_at=None)
    f.ReviewAssignmentFactory(application=p["A"], state="invited")
    # proposals of other states or calls are not ranked
    reviews(proposal(call, "X", "1", state=S.ACCEPTED), (15, "fund"))
    reviews(proposal(eu_call(), "Y", "1"), (15, "fund"))
    return call, p


def test_eu_order_scores_and_tie_break(eu_example):
    call, p = eu_example
    ranking = call_ranking(call)
    assert [row.title for row in ranking] == ["B", "A", "D", "C", "G", "H", "E", "F"]
    assert [row.rank for row in ranking] == [1, 2, 3, 4, 5, 6, 7, None]
    assert [row.score for row in ranking] == [
        Decimal("13.000"), Decimal("13.000"), Decimal("11.250"), Decimal("11.250"),
        Decimal("10.000"), Decimal("10.000"), Decimal("10.000"), None,
    ]  # fmt: skip
    assert [row.reviews for row in ranking] == [2, 3, 2, 2, 2, 2, 3, 0]
    assert [row.spread for row in ranking] == [
        Decimal("0"), Decimal("2"), Decimal("0.5"), Decimal("6.5"),
        Decimal("0"), Decimal("0"), Decimal("2"), None,
    ]  # fmt: skip
    assert [row.fund_share for row in ranking] == [
        Decimal("1.000"), Decimal("1.000"), Decimal("0.500"), Decimal("0.500"),
        Decimal("0.000"), Decimal("0.000"), Decimal("0.000"), None,
    ]  # fmt: skip
    assert [row.divergent for row in ranking] == [False, False, False, True] + [False] * 4


def test_eu_funding_line_is_drawn_at_the_first_proposal_that_does_not_fit(eu_example):
    call, p = eu_example
    ranking = call_ranking(call)
    assert [row.cumulative for row in ranking] == [
        Decimal("500000"), Decimal("1200000"), Decimal("1600000"), Decimal("1900000"),
        Decimal("2100000"), Decimal("2200000"), Decimal("2300000"), None,
    ]  # fmt: skip
    # H (100,000) would still fit in the 100,000 left, but the line ended at G.
    assert [row.above_line for row in ranking] == [True] * 4 + [False] * 4


def test_money_already_committed_moves_the_line(eu_example):
    call, p = eu_example
    proposal(call, "approved earlier", "300000", state=S.IN_NOTICE)
    ranking = call_ranking(call)
    assert ranking.committed == Decimal("300000")
    assert ranking.available == Decimal("1700000")
    assert [row.title for row in ranking if row.above_line] == ["B", "A", "D"]


def test_no_total_budget_no_line():
    call = eu_call(total_budget=None)
    a = proposal(call, "A", "100000")
    reviews(a, (10, "fund"))
    ranking = call_ranking(call)
    assert not ranking.has_line
    assert [(row.rank, row.above_line, row.cumulative) for row in ranking] == [
        (1, None, Decimal("100000"))
    ]


def test_equal_on_everything_but_the_number():
    call = eu_call(total_budget=Decimal("100000"))
    first, second = proposal(call, "first", "60000"), proposal(call, "second", "60000")
    reviews(first, (12, "fund"))
    reviews(second, (12, "fund"))
    ranking = call_ranking(call)
    assert first.number < second.number
    assert [row.pk for row in ranking] == [first.pk, second.pk]
    assert [row.above_line for row in ranking] == [True, False]


def test_eu_divergence_threshold_is_more_than_five_points():
    call = eu_call()
    at = proposal(call, "exactly 5 apart", "1")
    reviews(at, (10, "fund"), (15, "fund"))
    above = proposal(call, "5.5 apart", "1")
    reviews(above, ("9.5", "fund"), (15, "fund"))
    alone = proposal(call, "one review", "1")
    reviews(alone, (0, "do_not_fund"))
    flags = {row.title: row.divergent for row in call_ranking(call)}
    assert flags == {"exactly 5 apart": False, "5.5 apart": True, "one review": False}


def test_nsfc_letters_and_recommendations():
    call = f.CallFactory(scoring_scheme="nsfc", total_budget=Decimal("1000000"))
    p = {}
    p["P"] = proposal(call, "P", "300000", minutes=1)
    reviews(p["P"], (4, "fund"), (4, "fund"), (3, "fund_if_possible"))  # AAB, fund 2/3
    p["Q"] = proposal(call, "Q", "300000", minutes=2)
    reviews(p["Q"], (4, "fund"), (3, "fund"), (4, "fund"))  # ABA, fund 3/3
    p["R"] = proposal(call, "R", "300000", minutes=3)
    reviews(p["R"], (4, "fund"), (2, "do_not_fund"))  # A C: 3.0, spread 2 → divergent
    p["S"] = proposal(call, "S", "300000", minutes=4)
    reviews(p["S"], (3, "fund"), (3, "fund_if_possible"))  # B B: 3.0, spread 0
    p["T"] = proposal(call, "T", "50000", minutes=5)
    # D D, stored as scores only: the scheme's weighted total (1 × 1) is used
    for _ in range(2):
        f.ReviewFactory(
            assignment=f.ReviewAssignmentFactory(application=p["T"]),
            scores={"overall": 1},
            total=None,
            recommendation="do_not_fund",
        )
    ranking = call_ranking(call)
    assert [row.title for row in ranking] == ["Q", "P", "S", "R", "T"]
    assert [row.score for row in ranking] == [
        Decimal("3.667"), Decimal("3.667"), Decimal("3.000"), Decimal("3.000"), Decimal("1.000"),
    ]  # fmt: skip
    assert [row.fund_share for row in ranking] == [
        Decimal("1.000"), Decimal("0.667"), Decimal("0.500"), Decimal("0.500"), Decimal("0.000"),
    ]  # fmt: skip
    # A and B (one letter) do not diverge; A and C (two letters) do.
    assert [row.divergent for row in ranking] == [False, False, False, True, False]
    assert [row.above_line for row in ranking] == [True, True, True, False, False]
    assert [row.cumulative for row in ranking][:4] == [
        Decimal("300000"), Decimal("600000"), Decimal("900000"), Decimal("1200000"),
    ]  # fmt: skip


def test_ranking_runs_a_fixed_number_of_queries(django_assert_num_queries):
    call = eu_call(total_budget=Decimal("5000000"))
    reviews(proposal(call, "one", "1000"), (10, "fund"))
    with django_assert_num_queries(4):
        call_ranking(call)
    for n in range(12):
        reviews(proposal(call, f"p{n}", "1000"), (n, "fund"), (15 - n, "do_not_fund"))
    with django_assert_num_queries(4):
        ranking = call_ranking(call)
    assert len(ranking) == 13
