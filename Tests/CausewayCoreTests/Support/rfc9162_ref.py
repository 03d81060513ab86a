#!/usr/bin/env python3
"""An independent RFC 9162 Merkle tree reference, written from the RFC's text (sections 2.1.1
to 2.1.4), standard library only. It is the second opinion for MerkleTreeReferenceTests: it
builds trees of given leaves by the recursive definitions (MTH, PATH, PROOF/SUBPROOF), with
no stored nodes, and verifies proofs with the RFC's bit-shifting algorithms.

Protocol: one JSON request on stdin, one JSON answer on stdout. Hashes are hex.

  {"leaves": [hex leaf data...],
   "roots": [n...],                               -> "roots": {n: root}
   "inclusion": [[index, size]...],               -> "inclusion": [[proof...]...]
   "consistency": [[m, n]...],                    -> "consistency": [[proof...]...]
   "checkInclusion": [{index,size,leaf,proof,root}...]      -> "checkInclusion": [true|false...]
   "checkConsistency": [{m,n,first,second,proof}...]        -> "checkConsistency": [true|false...]}
"""
import hashlib
import json
import sys


def h(data):
    return hashlib.sha256(data).digest()


def leaf_hash(data):
    return h(b"\x00" + data)


def node_hash(left, right):
    return h(b"\x01" + left + right)


def k_of(n):
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Tree:
    """MTH over D[lo:hi] by the RFC's recursion, memoised per range (the tests use up to 2000 leaves)."""

    def __init__(self, leaves):
        self.leaves = [leaf_hash(d) for d in leaves]
        self.memo = {}

    def mth(self, lo, hi):
        n = hi - lo
        if n == 0:
            return h(b"")
        if n == 1:
            return self.leaves[lo]
        key = (lo, hi)
        if key not in self.memo:
            k = k_of(n)
            self.memo[key] = node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))
        return self.memo[key]

    def path(self, m, lo, hi):
        """PATH(m, D[lo:hi]) of RFC 9162 section 2.1.3.1."""
        n = hi - lo
        if n <= 1:
            return []
        k = k_of(n)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def subproof(self, m, lo, hi, b):
        """SUBPROOF(m, D[lo:hi], b) of RFC 9162 section 2.1.4.1."""
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = k_of(n)
        if m <= k:
            return self.subproof(m, lo, lo + k, b) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]

    def consistency(self, m, n):
        if m == 0 or m == n:
            return []
        return self.subproof(m, 0, n, True)


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size or index < 0:
        return False
    if any(len(p) != 32 for p in proof) or len(leaf) != 32 or len(root) != 32:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m, n, first, second, proof):
    """RFC 9162 section 2.1.4.2, with the trivial cases (m == 0, m == n) the RFC leaves to callers."""
    if m < 0 or m > n:
        return False
    if any(len(p) != 32 for p in proof):
        return False
    if m == 0:
        return proof == []
    if m == n:
        return proof == [] and first == second
    if not proof:
        return False
    path = list(proof)
    if m & (m - 1) == 0:
        path = [first] + path
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first and sr == second and sn == 0


def main():
    request = json.load(sys.stdin)
    tree = Tree([bytes.fromhex(x) for x in request.get("leaves", [])])
    answer = {}
    if "roots" in request:
        answer["roots"] = {str(n): tree.mth(0, n).hex() for n in request["roots"]}
    if "inclusion" in request:
        answer["inclusion"] = [[p.hex() for p in tree.path(i, 0, n)] for i, n in request["inclusion"]]
    if "consistency" in request:
        answer["consistency"] = [[p.hex() for p in tree.consistency(m, n)] for m, n in request["consistency"]]
    if "checkInclusion" in request:
        answer["checkInclusion"] = [
            verify_inclusion(c["index"], c["size"], bytes.fromhex(c["leaf"]), [bytes.fromhex(p) for p in c["proof"]],
                             bytes.fromhex(c["root"]))
            for c in request["checkInclusion"]
        ]
    if "checkConsistency" in request:
        answer["checkConsistency"] = [
            verify_consistency(c["m"], c["n"], bytes.fromhex(c["first"]), bytes.fromhex(c["second"]),
                               [bytes.fromhex(p) for p in c["proof"]])
            for c in request["checkConsistency"]
        ]
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    main()
