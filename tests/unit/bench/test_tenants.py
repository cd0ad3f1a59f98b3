from collections import Counter

import pytest
from aiokafka.partitioner import DefaultPartitioner

from tokenyard.streams.bench.tenants import balanced_tenants, partition_of


def test_partition_of_matches_the_producers_partitioner():
    partitions = [0, 1, 2, 3]
    for i in range(50):
        key = f"tenant-{i}".encode()
        assert partition_of(key, 4) == DefaultPartitioner()(key, partitions, partitions)


@pytest.mark.parametrize(("partitions", "per_partition"), [(4, 4), (3, 2), (1, 5)])
def test_every_partition_gets_the_same_number_of_tenants_in_round_robin_order(partitions, per_partition):
    tenants = balanced_tenants(partitions, per_partition)
    assert len(tenants) == len(set(tenants)) == partitions * per_partition
    assert Counter(partition_of(t.encode(), partitions) for t in tenants) == {p: per_partition for p in range(partitions)}
    assert [partition_of(t.encode(), partitions) for t in tenants[:partitions]] == list(range(partitions))


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        balanced_tenants(0)
