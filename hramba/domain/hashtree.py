"""Hash trees as RFC 4998 §4.2 builds them, and the reduced hash tree of each leaf.

A leaf is a data group: the hashes of its documents. Its node value is the hash of those
hashes sorted in binary ascending order and concatenated (RFC 4998 §4.2: "sort hashes in
binary ascending order before concatenation"), so the first list of every reduced hash
tree is simply the group's own document hashes. Above that, nodes are paired in order of
their value; a node left without a partner is carried up unchanged, and the leaves under
it get no list for that level. A reduced hash tree is then:

    [the group's document hashes], [sibling at the next level], [sibling above], ...

and a verifier recomputes the root by hashing each list together with the value computed
from the list before it (RFC 4998 §4.3, steps 1-3).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

ReducedTree = list[list[bytes]]


def node_hash(children: Sequence[bytes], algorithm: str = "sha256") -> bytes:
    """RFC 4998 §4.2: hash of the children sorted binary ascending and concatenated."""
    return hashlib.new(algorithm, b"".join(sorted(children))).digest()


@dataclass(frozen=True)
class Leaf:
    """One data group of a batch: `key` names it (a unit id), `members` are its hashes."""

    key: str
    members: tuple[bytes, ...]


@dataclass(frozen=True)
class Tree:
    root: bytes
    reduced: dict[str, ReducedTree]


@dataclass
class _Node:
    value: bytes
    leaves: list[str]


def build_tree(leaves: Sequence[Leaf], algorithm: str = "sha256") -> Tree:
    """The root over `leaves` and, for each leaf key, its reduced hash tree."""
    if not leaves:
        raise ValueError("a hash tree needs at least one leaf")
    if len({leaf.key for leaf in leaves}) != len(leaves):
        raise ValueError("leaf keys must be unique")
    reduced = {leaf.key: [sorted(leaf.members)] for leaf in leaves}
    level = sorted((_Node(node_hash(leaf.members, algorithm), [leaf.key]) for leaf in leaves),
                   key=lambda n: n.value)
    while len(level) > 1:
        parents = []
        for i in range(0, len(level) - 1, 2):
            left, right = level[i], level[i + 1]
            for key in left.leaves:
                reduced[key].append([right.value])
            for key in right.leaves:
                reduced[key].append([left.value])
            parents.append(_Node(node_hash([left.value, right.value], algorithm),
                                 left.leaves + right.leaves))
        if len(level) % 2:
            parents.append(level[-1])  # carried up unchanged: no list for this level
        level = sorted(parents, key=lambda n: n.value)
    return Tree(level[0].value, reduced)


def root_of(members: Sequence[bytes], reduced: ReducedTree, algorithm: str = "sha256") -> bytes:
    """RFC 4998 §4.3: recompute the root from a data group's hashes and its reduced tree.

    Raises ValueError when a member is missing from the first list (the group is not the
    one the tree was built over).
    """
    if not reduced:
        raise ValueError("empty reduced hash tree")
    first = reduced[0]
    if sorted(first) != sorted(members):
        raise ValueError("the first list of the reduced hash tree is not this data group")
    value = node_hash(first, algorithm)
    for siblings in reduced[1:]:
        value = node_hash([*siblings, value], algorithm)
    return value
