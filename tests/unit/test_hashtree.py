from __future__ import annotations

import hashlib

import pytest

from hramba.domain.hashtree import Leaf, build_tree, node_hash, root_of


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaves(n: int) -> list[Leaf]:
    return [Leaf(f"u{i}", (h(b"file%d" % i), h(b"manifest%d" % i))) for i in range(n)]


def test_node_hash_sorts_binary_ascending_before_concatenating() -> None:
    a, b = h(b"a"), h(b"b")
    assert node_hash([a, b]) == node_hash([b, a]) == h(min(a, b) + max(a, b))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 33])
def test_every_leaf_recomputes_the_root(n: int) -> None:
    group = leaves(n)
    tree = build_tree(group)
    for leaf in group:
        assert root_of(leaf.members, tree.reduced[leaf.key]) == tree.root


def test_two_leaves_by_hand() -> None:
    one, two = leaves(2)
    n1, n2 = node_hash(one.members), node_hash(two.members)
    tree = build_tree([one, two])
    assert tree.root == node_hash([n1, n2])
    assert tree.reduced["u0"] == [sorted(one.members), [n2]]


def test_a_changed_member_or_a_neighbours_path_does_not_verify() -> None:
    group = leaves(4)
    tree = build_tree(group)
    changed = (h(b"other"), group[0].members[1])
    with pytest.raises(ValueError, match="not this data group"):
        root_of(changed, tree.reduced["u0"])
    with pytest.raises(ValueError, match="not this data group"):
        root_of(group[0].members, tree.reduced["u1"])


def test_a_lone_leaf_is_its_own_root() -> None:
    (only,) = leaves(1)
    assert build_tree([only]).root == node_hash(only.members)
