"""Hash trees as RFC 4998 §4.2 builds them, and the reduced hash tree of each leaf.

A leaf is a data group: the hashes of its documents. A group of several documents has as
node value the hash of their hashes sorted in binary ascending order and concatenated
(RFC 4998 §4.2); a single document's node value is its own hash. Nodes are paired in
order of their value; a node left without a partner is carried up unchanged, and the
leaves under it get no list for that level. A reduced hash tree is then:

    [the group's document hashes], [sibling at the next level], [sibling above], ...

and a verifier recomputes the root by hashing each list together with the value computed
from the list before it (RFC 4998 §4.3, steps 1-3). For a single document the first
sibling joins it in the first list, [hash, sibling]: RFC 4998 §4.3 read literally and
Bouncy Castle's ERS (which takes a one-value list as the node itself) then agree. Every
later list holds exactly one hash, which both also read the same way.
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
    paths: dict[str, list[bytes]] = {leaf.key: [] for leaf in leaves}
    level = sorted((_Node(leaf_hash(leaf.members, algorithm), [leaf.key]) for leaf in leaves),
                   key=lambda n: n.value)
    while len(level) > 1:
        parents = []
        for i in range(0, len(level) - 1, 2):
            left, right = level[i], level[i + 1]
            for key in left.leaves:
                paths[key].append(right.value)
            for key in right.leaves:
                paths[key].append(left.value)
            parents.append(_Node(node_hash([left.value, right.value], algorithm),
                                 left.leaves + right.leaves))
        if len(level) % 2:
            parents.append(level[-1])  # carried up unchanged: no list for this level
        level = sorted(parents, key=lambda n: n.value)
    return Tree(level[0].value, {leaf.key: _reduced(leaf, paths[leaf.key]) for leaf in leaves})


def leaf_hash(members: Sequence[bytes], algorithm: str = "sha256") -> bytes:
    """A single document is its own hash; a group is the hash of its sorted hashes."""
    return members[0] if len(members) == 1 else node_hash(members, algorithm)


def _reduced(leaf: Leaf, siblings: list[bytes]) -> ReducedTree:
    if len(leaf.members) == 1 and siblings:
        return [sorted([leaf.members[0], siblings[0]]), *([s] for s in siblings[1:])]
    return [sorted(leaf.members), *([s] for s in siblings)]


def root_of(members: Sequence[bytes], reduced: ReducedTree, algorithm: str = "sha256") -> bytes:
    """RFC 4998 §4.3: recompute the root from a data group's hashes and its reduced tree.

    The members must be exactly the group the tree was built over: for several, the first
    list is exactly their hashes; for one, the first list is that hash alone or that hash
    and one neighbour (a single document's layout, see the module docstring). A file of a
    larger group given alone is refused. (One file of a two-file group cannot be told
    from a single document by the tree alone; every unit's group holds its manifest, so
    leaving out the manifest is all that this allows.) Raises ValueError otherwise.
    """
    if not reduced:
        raise ValueError("empty reduced hash tree")
    first = reduced[0]
    if len(members) == 1:
        if members[0] not in first or len(first) > 2:
            raise ValueError(f"the first list of the reduced hash tree holds {len(first)} "
                             "hashes: this file is not a whole data group"
                             if members[0] in first else
                             "the first list of the reduced hash tree lacks this hash")
    elif sorted(first) != sorted(members):
        raise ValueError(f"the first list of the reduced hash tree holds {len(first)} hashes, "
                         f"not exactly the {len(members)} given")
    value = first[0] if len(first) == 1 else node_hash(first, algorithm)
    for siblings in reduced[1:]:
        value = node_hash([*siblings, value], algorithm)
    return value
