"""Priority classes with aging and fair share across tenants."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenyard.admission.scheduler import FairScheduler


@dataclass(frozen=True)
class Item:
    name: str
    tenant: str = "t"
    priority: str = "normal"
    estimated_tokens: int = 100


def always(_: Item) -> bool:
    return True


def one_at_a_time(scheduler: FairScheduler, now: float) -> Item | None:
    ready = scheduler.pop_ready(now, always, max_items=1)
    return ready[0] if ready else None


def test_strict_priority_then_fifo() -> None:
    s: FairScheduler[Item] = FairScheduler(aging_s=1000)
    for item in [Item("low", priority="low"), Item("n1"), Item("high", priority="high"), Item("n2")]:
        s.push(item, now=0)
    assert [i.name for i in s.pop_ready(1, always)] == ["high", "n1", "n2", "low"]
    assert len(s) == 0


def test_capacity_short_stops_instead_of_skipping_ahead() -> None:
    s: FairScheduler[Item] = FairScheduler(aging_s=1000)
    s.push(Item("big", priority="high", estimated_tokens=5000), now=0)
    s.push(Item("small", priority="low", estimated_tokens=1), now=0)
    assert s.pop_ready(0, lambda i: i.estimated_tokens < 100) == []
    assert len(s) == 2 and s.peek(0).name == "big"


def test_a_noisy_tenant_gets_its_share_not_the_account() -> None:
    s: FairScheduler[Item] = FairScheduler(aging_s=1000)
    for n in range(100):
        s.push(Item(f"noisy{n}", tenant="noisy"), now=0)
    for n in range(10):
        s.push(Item(f"quiet{n}", tenant="quiet"), now=1)
    first_twenty = [one_at_a_time(s, 2).tenant for _ in range(20)]
    assert Counter(first_twenty) == {"noisy": 10, "quiet": 10}


def test_weights_split_capacity_proportionally() -> None:
    s: FairScheduler[Item] = FairScheduler(aging_s=1000, weights={"gold": 3.0})
    for n in range(40):
        s.push(Item(f"g{n}", tenant="gold"), now=0)
        s.push(Item(f"b{n}", tenant="bronze"), now=0)
    served = Counter(one_at_a_time(s, 0).tenant for _ in range(40))
    assert served == {"gold": 30, "bronze": 10}


def test_an_idle_tenant_does_not_bank_credit() -> None:
    s: FairScheduler[Item] = FairScheduler(aging_s=1000)
    for n in range(50):
        s.push(Item(f"a{n}", tenant="a"), now=0)
    for _ in range(40):
        one_at_a_time(s, 0)
    for n in range(50):
        s.push(Item(f"b{n}", tenant="b"), now=1)  # arrives late: joins at the current virtual time
    served = Counter(one_at_a_time(s, 1).tenant for _ in range(10))
    assert served == {"a": 5, "b": 5}


def test_aging_lifts_low_one_class_per_aging_period() -> None:
    s: FairScheduler[Item] = FairScheduler(aging_s=10)
    s.push(Item("old-low", priority="low"), now=0)
    s.push(Item("new-normal", tenant="other", priority="normal"), now=10)
    assert s.peek(10).name == "old-low"  # aged to normal, and older
    s2: FairScheduler[Item] = FairScheduler(aging_s=10)
    s2.push(Item("low", priority="low"), now=0)
    s2.push(Item("high", tenant="o", priority="high"), now=15)
    assert s2.peek(15).name == "high"
    assert s2.peek(20).name == "low"  # two periods: competes as high, and is older


@settings(max_examples=60, deadline=None)
@given(
    high_per_tick=st.integers(1, 3),
    capacity_per_tick=st.integers(1, 3),
    aging_s=st.integers(1, 5),
    same_tenant=st.booleans(),
)
def test_under_sustained_high_load_high_keeps_flowing_and_low_eventually_runs(
    high_per_tick, capacity_per_tick, aging_s, same_tenant
) -> None:
    """Demand >= capacity of high items forever; one low item must still be served, and high never stops."""
    s: FairScheduler[Item] = FairScheduler(aging_s=aging_s)
    s.push(Item("the-low", tenant="t" if same_tenant else "l", priority="low"), now=0)
    low_served_at = None
    high_served_per_tick = []
    for tick in range(200):
        for n in range(max(high_per_tick, capacity_per_tick)):
            s.push(Item(f"h{tick}.{n}", tenant="t", priority="high"), now=tick)
        ready = s.pop_ready(tick, always, max_items=capacity_per_tick)
        high_served_per_tick.append(sum(1 for i in ready if i.priority == "high"))
        if any(i.name == "the-low" for i in ready):
            low_served_at = tick
    assert low_served_at is not None and low_served_at <= 2 * aging_s + 2
    # High is never starved: every tick serves at least one high item, except
    # possibly the one tick the aged low item takes a single slot.
    assert sum(1 for n in high_served_per_tick if n == 0) <= 1


def test_unknown_priority_and_bad_aging_are_refused() -> None:
    with pytest.raises(ValueError, match="aging_s"):
        FairScheduler(aging_s=0)
    with pytest.raises(ValueError, match="unknown priority 'urgent'"):
        FairScheduler(aging_s=1).push(Item("x", priority="urgent"), now=0)


def test_a_removed_item_leaves_unserved_and_its_tenant_is_not_charged() -> None:
    s: FairScheduler[Item] = FairScheduler(aging_s=1000)
    gone = Item("gone", tenant="a", estimated_tokens=10_000)
    s.push(gone, now=0)
    s.push(Item("b1", tenant="b"), now=0)
    s.push(Item("b2", tenant="b"), now=0)
    assert s.remove(gone) and not s.remove(gone) and len(s) == 2
    s.push(Item("a1", tenant="a"), now=1)
    # had "gone" been charged, a would be 10,000 tokens behind b and come last
    assert [i.name for i in s.pop_ready(1, always)] == ["b1", "a1", "b2"]


def test_default_weight_applies_to_unlisted_tenants() -> None:
    s: FairScheduler[Item] = FairScheduler(aging_s=1000, weights={"listed": 1.0}, default_weight=3.0)
    for n in range(40):
        s.push(Item(f"l{n}", tenant="listed"), now=0)
        s.push(Item(f"o{n}", tenant="other"), now=0)
    assert Counter(one_at_a_time(s, 0).tenant for _ in range(40)) == {"other": 30, "listed": 10}


def test_last_is_the_floods_tail_in_the_worst_class() -> None:
    s: FairScheduler[Item] = FairScheduler(aging_s=1000)
    for n in range(10):
        s.push(Item(f"noisy{n}", tenant="noisy"), now=0)
    s.push(Item("quiet0", tenant="quiet"), now=0)
    assert s.last(0).name == "noisy9"
    s.push(Item("quiet-low", tenant="quiet", priority="low"), now=0)
    assert s.last(0).name == "quiet-low"  # the worst class goes first, whoever floods
    served = [i.name for i in s.pop_ready(0, always)]
    assert served[-1] == "quiet-low" and served.index("quiet0") < served.index("noisy9")


@settings(max_examples=50, deadline=None)
@given(
    items=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["high", "normal", "low"]), st.integers(1, 500)),
        min_size=1, max_size=30,
    ),
    count=st.integers(1, 35),
    now=st.floats(0, 50),
)
def test_first_is_the_order_pop_ready_hands_out(items, count, now) -> None:
    s: FairScheduler[Item] = FairScheduler(aging_s=10, weights={"a": 2.0})
    for n, (tenant, priority, tokens) in enumerate(items):
        s.push(Item(f"i{n}", tenant, priority, tokens), now=n)
    ahead = s.first(now, count)
    assert ahead == s.pop_ready(now, always, max_items=count)
