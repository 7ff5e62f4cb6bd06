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
    with pytest.raises(ValueError, match="not exactly the 2 given"):
        root_of(changed, tree.reduced["u0"])
    with pytest.raises(ValueError, match="not exactly the 2 given"):
        root_of(group[0].members, tree.reduced["u1"])


def test_a_lone_leaf_is_its_own_root() -> None:
    (only,) = leaves(1)
    assert build_tree([only]).root == node_hash(only.members)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6])
def test_a_single_document_shares_its_first_list_with_its_sibling(n: int) -> None:
    single = Leaf("audit", (h(b"audit head"),))
    tree = build_tree([*leaves(n), single])
    reduced = tree.reduced["audit"]
    assert len(reduced[0]) == 2
    assert single.members[0] in reduced[0]
    assert all(len(level) == 1 for level in reduced[1:])
    assert root_of(single.members, reduced) == tree.root
    for leaf in leaves(n):
        assert root_of(leaf.members, tree.reduced[leaf.key]) == tree.root


def test_evidence_record_der_embeds_the_token_byte_for_byte() -> None:
    from asn1crypto import cms

    from hramba.trust.ers import EvidenceRecord, archive_time_stamp, evidence_record

    token = cms.ContentInfo({"content_type": "data", "content": b"token bytes"}).dump()
    tree = build_tree(leaves(3))
    record = evidence_record([[archive_time_stamp(tree.reduced["u1"], token)]], ["sha256"])
    assert token in record
    parsed = EvidenceRecord.load(record, strict=True)
    assert parsed.dump(force=True) == record  # our hand-made DER is what asn1crypto makes
    (ats,) = parsed["archive_time_stamp_sequence"][0]
    assert [[bytes(h.native) for h in p] for p in ats["reduced_hashtree"]] == tree.reduced["u1"]
    assert ats["digest_algorithm"]["algorithm"].native == "sha256"
