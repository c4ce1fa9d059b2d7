#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Generate the seed corpora of the fuzz targets into corpus/<target>/.

Each seed is a short, readable scenario that reaches one operation or one
error path of the contract (the input formats are documented at the top of
each target's .c file); a few longer pseudo-random sequences from a fixed
PRNG seed cover interleavings. The output is deterministic and committed:
  fuzz/gen_corpus.py [--out corpus] [target...]
The targets are those of fuzz/targets.txt (default: all); each has a
function seeds_<target>() here. The ops target gets one set of seeds per
backend of backends/backends.def (seed-b<i>-*, byte 0 = i, the backend's
index in zpool_types()), so a new backend's seeds come from running this
again after registering it.
"""
import os
import random
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "lib"))
import cli  # noqa: E402  (scripts/lib/cli.py: exit codes, --version, paths)

ZPAGE = 4096
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def fuzz_targets():
    """The targets of fuzz/targets.txt, in order."""
    with open(os.path.join(ROOT, "fuzz", "targets.txt")) as f:
        return [l.split()[0] for l in f if l.strip() and not l.startswith("#")]



def opbyte(op, nops, slot=0):
    """The opcode byte b with b % nops == op and b >> 3 == slot."""
    for j in range(8):
        b = slot * 8 + j
        if b % nops == op:
            return b
    raise ValueError("no opcode byte for op %d slot %d" % (op, slot))


def u16(v):
    return struct.pack("<H", v % 65536)


def u32(v):
    return struct.pack("<I", v % (1 << 32))


class Ops:
    """zpool_ops_fuzzer: header (backend, pages, fault), then operations."""
    ALLOC, FREE, WRITE, VERIFY, SHRINK, RELOAD, RECREATE = range(7)

    def __init__(self, backend, pages, fault=0):
        self.b = bytes([backend, (pages - 1) % 32, fault])

    def op(self, op, slot=0, args=b""):
        self.b += bytes([opbyte(op, 7, slot)]) + args
        return self

    def alloc(self, size, slot=0):
        return self.op(self.ALLOC, slot, u16(size))

    def free(self, slot=0):
        return self.op(self.FREE, slot)

    def write(self, seed, slot=0):
        return self.op(self.WRITE, slot, bytes([seed]))

    def verify(self, slot=0):
        return self.op(self.VERIFY, slot)

    def compact(self, slot=0):
        """zpool_compact(), then verify: the verify op on slot 16 + @slot."""
        return self.op(self.VERIFY, 16 + slot % 16)

    def shrink(self, pages, mask):
        return self.op(self.SHRINK, 0, bytes([pages]) + u32(mask))

    def reload(self, slot=0):
        return self.op(self.RELOAD, slot)

    def recreate(self, pages, fault=0):
        return self.op(self.RECREATE, 0, bytes([(pages - 1) % 32, fault]))


def in_tree_backends():
    """The names of backends/backends.def, in registration order (zpool_types())."""
    path = os.path.join(cli.ROOT, "backends", "backends.def")
    with open(path) as f:
        return [l[len("ZPOOL_BACKEND("):l.index(")")] for l in f if l.startswith("ZPOOL_BACKEND(")]


def z3fold_seeds(be):
    """z3fold's own paths: three buddies a page, the middle buddy compacted to
    either side and made the first, headless pages, reclaim of a full page."""
    seeds = {}
    # Three buddies; free the first: the middle moves next to the last; a
    # small object takes the first place; free the last: the middle moves
    # down next to the new first. Then alone: it becomes the first.
    s = Ops(be, 4)
    for i, sz in enumerate([320, 160, 160]):
        s.alloc(sz, i).write(i + 1, i)
    s.free(0).verify(2).alloc(80, 3).verify(2).verify(3).free(1).verify(2).verify(3)
    s.free(3).verify(2).alloc(3800, 4).verify(2).verify(4)
    seeds["b%d-z3fold-compaction" % be] = s.b
    # Headless pages (over 4064 bytes) beside pages with a header, then reclaim
    # of both kinds with every other evict refused.
    s = Ops(be, 6)
    for i, sz in enumerate([4065, 4064, 4096, 1300, 1300, 1300, 17]):
        s.alloc(sz, i).write(i * 5, i)
    s.shrink(2, 0xAAAAAAAA).verify(3).shrink(3, 0xFFFFFFFF)
    for i in range(7):
        s.reload(i)
    seeds["b%d-z3fold-headless-reclaim" % be] = s.b
    # The room before a middle buddy ends at the header.
    s = Ops(be, 3)
    s.alloc(80, 0).alloc(80, 1).alloc(80, 2).free(0).alloc(3936, 3).alloc(3920, 4)
    s.verify(2).verify(3).verify(4)
    seeds["b%d-z3fold-room-before-middle" % be] = s.b
    return seeds


def zsmalloc_seeds(be):
    """zsmalloc's own paths: objects that span two pages of a zspage,
    compaction of sparse zspages (also with a spanning object moved),
    reclaim of a multi-page zspage whose objects the evict policy partly
    refuses, and allocations that need a new zspage the arena cannot give."""
    seeds = {}
    # Class 3008: 4 objects in 3 pages, objects 1 and 2 cross a page.
    s = Ops(be, 32)
    for i in range(8):
        s.alloc(3000, i).write(i + 1, i)
    for i in range(8):
        s.verify(i)
    s.write(77, 1).verify(1).write(78, 2).verify(2)
    seeds["b%d-zsmalloc-spanning" % be] = s.b
    # Two sparse zspages of class 1024 and two of class 3008: compaction
    # empties one of each into the other.
    s = Ops(be, 32)
    for i in range(8):
        s.alloc(1024, i).write(i, i)
    for i in range(8, 16):
        s.alloc(3000, i).write(i, i)
    for i in (1, 2, 5, 6, 9, 10, 13, 14):
        s.free(i)
    s.compact(0).compact(3).alloc(1000, 20).alloc(2990, 21).verify(20).verify(21)
    seeds["b%d-zsmalloc-compaction" % be] = s.b
    # Reclaim whole zspages while the policy refuses every other evict.
    s = Ops(be, 24)
    for i in range(12):
        s.alloc(700, i).write(i * 3, i)
    s.shrink(2, 0x55555555).compact(1).shrink(3, 0xFFFFFFFF)
    for i in range(12):
        s.reload(i)
    s.compact(2)
    seeds["b%d-zsmalloc-reclaim" % be] = s.b
    # A full small arena: objects would fit, a new zspage does not.
    s = Ops(be, 12)
    for i, sz in enumerate([2500, 2500, 2500, 100, 1400, 2500, 2500, 2500, 2500]):
        s.alloc(sz, i)
    s.shrink(1, 0xFFFFFFFF).alloc(2500, 10).compact(0)
    seeds["b%d-zsmalloc-enomem" % be] = s.b
    return seeds


def seeds_zpool_ops_fuzzer():
    """zpool_ops_fuzzer: the generic scenarios on every in-tree backend, the
    random ones on the first two, and a backend's own paths beside them."""
    seeds = {}
    names = in_tree_backends()
    covered = range(len(names))
    if "z3fold" in names:
        seeds.update(z3fold_seeds(names.index("z3fold")))
    if "zsmalloc" in names:
        seeds.update(zsmalloc_seeds(names.index("zsmalloc")))
    sizes = [1, 63, 64, 65, 100, 700, 1000, 2000, 2047, 2048, 2049, 3000, 4032, 4033,
             4095, 4096, 0, 4097, 4200]
    for be in covered:
        name = "b%d" % be
        s = Ops(be, 32)
        for i, sz in enumerate(sizes):
            s.alloc(sz, i).write(i * 13 + 1, i).verify(i)
        for i in range(len(sizes)):
            s.free(i)
        seeds[name + "-sizes"] = s.b

        # Fill a 2-page arena until -ENOMEM, evict everything, reload it all.
        s = Ops(be, 2)
        for i in range(6):
            s.alloc(1500 + i * 100, i)
        s.shrink(2, 0xFFFFFFFF)
        for i in range(6):
            s.reload(i)
        s.verify(0).verify(3)
        seeds[name + "-enomem-shrink-reload"] = s.b

        # Every evict fails: -EAGAIN, objects intact.
        s = Ops(be, 3)
        for i in range(5):
            s.alloc(900 * (i + 1) % 4096 + 1, i)
        s.shrink(1, 0).verify(0).verify(2).shrink(3, 0x55555555).verify(1)
        seeds[name + "-eagain"] = s.b

        # shrink(0), shrink of an empty pool, destroy refused, then recreate.
        s = Ops(be, 4).shrink(0, 0xFFFFFFFF).shrink(2, 0xFFFFFFFF)
        s.alloc(300).alloc(3000, 1).recreate(8).verify(0).verify(1)
        s.free(0).free(1).recreate(5).alloc(4096).alloc(10, 1).shrink(1, 0xFFFFFFFF).reload(0)
        seeds[name + "-einval-destroy"] = s.b

        # Fault injection: every 2nd page allocation, then with probability.
        s = Ops(be, 16, 7 | (0 << 3))
        for i in range(10):
            s.alloc(2500, i)
        s.shrink(3, 0xFFFFFFFF)
        for i in range(10):
            s.reload(i)
        seeds[name + "-fault-every"] = s.b
        s = Ops(be, 16, 6 | (16 << 3))
        for i in range(12):
            s.alloc(1800 + i, i)
        s.free(3).free(5)
        for i in range(4):
            s.alloc(100 * i + 7, 20 + i)
        seeds[name + "-fault-prob"] = s.b

        # Refused creates (fault % 8 == 5): each bad fault probability
        # (variants 0..2 in fault >> 3), an unknown backend, NULL arguments.
        s = Ops(be, 4, 5 | (0 << 3)).alloc(500).free()
        s.recreate(3, 5 | (1 << 3)).alloc(2000).free().recreate(2, 5 | (2 << 3)).alloc(10)
        seeds[name + "-refused-create"] = s.b

        # Evict half (alternating mask), write new patterns, reload.
        s = Ops(be, 4)
        for i in range(8):
            s.alloc([200, 1900, 3900, 64][i % 4], i).write(i * 7, i)
        s.shrink(3, 0xAAAAAAAA).write(99, 1).verify(1)
        for i in range(8):
            s.reload(i)
        seeds[name + "-partial-evict"] = s.b

        # Many objects of one size class, two of every three freed: what is
        # left at the end is sparse, so the end-of-input compaction of a
        # backend that compacts has pages to give back.
        s = Ops(be, 32)
        for i in range(30):
            s.alloc(500, i)
        for i in range(30):
            if i % 3:
                s.free(i)
        seeds[name + "-sparse-compact"] = s.b

    rng = random.Random(1234)
    for n in range(6):
        s = Ops(n % 2, 1 + rng.randrange(32), rng.choice([0, 0, 0, 7, 15, 6 | 8 << 3]))
        for _ in range(120):
            op = rng.choices(range(7), [30, 15, 10, 10, 10, 10, 2])[0]
            slot = rng.randrange(32)
            if op == Ops.ALLOC:
                s.alloc(rng.choice([rng.randrange(1, 4097), rng.randrange(1, 600),
                                    rng.randrange(3500, 4097)]), slot)
            elif op == Ops.WRITE:
                s.write(rng.randrange(256), slot)
            elif op == Ops.SHRINK:
                s.shrink(rng.randrange(4), rng.getrandbits(32))
            elif op == Ops.RECREATE:
                s.recreate(1 + rng.randrange(32), rng.choice([0, 7]))
            else:
                s.op(op, slot)
        seeds["random-%d" % n] = s.b
    return seeds


def seeds_zpool_diff_fuzzer():
    """zpool_diff_fuzzer: byte 0 ignored, then b % 6 opcodes on slot b >> 3."""
    def op(o, slot=0, args=b""):
        return bytes([opbyte(o, 6, slot)]) + args
    seeds = {}
    b = b"\0"
    for i, sz in enumerate([0, 1, 64, 65, 2048, 4096, 4097, 4300, 3000, 100]):
        b += op(0, i, u16(sz)) + op(2, i, bytes([i + 3])) + op(3, i)
    b += op(4, 0, bytes([0]) + u32(~0)) + op(4, 0, bytes([3]) + u32(0xF0F0F0F0))
    for i in range(10):
        b += op(5, i) + op(3, i)
    for i in range(10):
        b += op(1, i)
    seeds["sizes-evict-reload"] = b
    # zsmalloc against malloc: spanning objects, compaction between
    # operations (verify on slot 16 and up), eviction and reload.
    others = [n for n in in_tree_backends() if n != "malloc"]
    if "zsmalloc" in others:
        b = bytes([others.index("zsmalloc")])
        for i, sz in enumerate([3000, 3000, 3000, 1024, 1024, 1024, 1024, 100, 4096, 0]):
            b += op(0, i, u16(sz)) + op(2, i, bytes([i + 9])) + op(3, i)
        b += op(1, 1) + op(1, 4) + op(1, 5) + op(3, 16) + op(3, 18) + op(3, 19)
        b += op(4, 0, bytes([2]) + u32(0xF0F0F0F0)) + op(3, 17)
        for i in range(10):
            b += op(5, i) + op(3, 16 + i)
        seeds["zsmalloc-spanning-compaction"] = b
    rng = random.Random(99)
    for n in range(4):
        b = b"\0"
        for _ in range(150):
            o = rng.choices(range(6), [30, 12, 10, 15, 8, 12])[0]
            slot = rng.randrange(32)
            if o == 0:
                b += op(0, slot, u16(rng.randrange(0, 4300)))
            elif o == 2:
                b += op(2, slot, bytes([rng.randrange(256)]))
            elif o == 4:
                b += op(4, slot, bytes([rng.randrange(4)]) + u32(rng.getrandbits(32)))
            else:
                b += op(o, slot)
        seeds["random-%d" % n] = b
    return seeds


def seeds_zbud_reclaim_fuzzer():
    """zbud_reclaim_fuzzer: byte 0 capacity, then b % 5 opcodes on slot b >> 3."""
    def op(o, slot=0, args=b""):
        return bytes([opbyte(o, 5, slot)]) + args

    def shrink(pages, acts, size=100):
        word = 0
        for k, a in enumerate(acts[:10]):
            word |= a << (3 * k)
        return op(4, 0, bytes([pages]) + u32(word) + u16(size))
    seeds = {}
    # Two buddied pages: each action on its own.
    for act in range(8):
        b = bytes([1])  # 2 pages
        for i, sz in enumerate([1000, 2500, 700, 3000]):
            b += op(0, i, u16(sz))
        b += shrink(1 + act % 3, [act] * 10, 200 + act * 500)
        for i in range(4):
            b += op(3, i) + op(2, i)
        seeds["action-%d" % act] = b
    # All evicts fail: -EAGAIN after exactly 8 attempts.
    b = bytes([2]) + op(0, 0, u16(100)) + op(0, 1, u16(4000)) + op(0, 2, u16(4096))
    b += shrink(1, [1] * 10) + shrink(3, [3] * 10) + op(2, 0)
    seeds["all-fail"] = b
    # Free the other buddy, then succeed / fail; last buddy alone on a page.
    b = bytes([0]) + op(0, 0, u16(1000)) + op(0, 1, u16(1000)) + shrink(1, [4, 0])
    b += op(3, 0) + op(3, 1) + op(0, 2, u16(50)) + op(0, 3, u16(60)) + op(1, 2)
    b += shrink(1, [5, 5]) + shrink(2, [0, 0]) + op(3, 3)
    seeds["other-buddy"] = b
    # Allocate inside evict until -ENOMEM; shrink(0); empty pool; invalid sizes.
    b = bytes([0]) + shrink(1, [0]) + shrink(0, [0]) + op(0, 0, u16(0)) + op(0, 0, u16(4097))
    b += op(0, 0, u16(2000)) + op(0, 1, u16(2000)) + op(0, 2, u16(2000))
    b += shrink(1, [6, 6, 6, 6], 4000) + shrink(3, [6, 2, 7, 0], 3000)
    seeds["alloc-in-evict"] = b
    rng = random.Random(7)
    for n in range(6):
        b = bytes([rng.randrange(6)])
        for _ in range(100):
            o = rng.choices(range(5), [40, 15, 10, 15, 20])[0]
            slot = rng.randrange(32)
            if o == 0:
                b += op(0, slot, u16(rng.choice([rng.randrange(1, 4097), rng.randrange(1, 2100)])))
            elif o == 4:
                b += shrink(rng.randrange(4), [rng.randrange(8) for _ in range(10)],
                            rng.randrange(1, 4097))
            else:
                b += op(o, slot)
        seeds["random-%d" % n] = b
    return seeds


def main(argv):
    ap = cli.Parser("fuzz/gen_corpus.py", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=cli.path, default=cli.ROOT / "corpus",
                    help="where corpus/<target>/seed-* go (default: the repository's corpus/); "
                         "only seed-* files are written, nothing is deleted")
    ap.add_argument("target", nargs="*", help="targets of fuzz/targets.txt (default: all)")
    args = ap.parse_args(argv)
    listed = fuzz_targets()
    for target in args.target:
        if target not in listed:
            ap.error("unknown target %s (fuzz/targets.txt: %s)" % (target, " ".join(listed)))
    for target in args.target or listed:
        make = globals().get("seeds_" + target)
        if make is None:
            raise cli.HarnessError("%s is in fuzz/targets.txt but has no seeds_%s() here"
                                   % (target, target))
        seeds = make()
        d = os.path.join(args.out, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, "seed-" + name), "wb") as f:
                f.write(data)
        print("%s: %d seeds in %s" % (target, len(seeds), os.path.relpath(d)))
    return 0


if __name__ == "__main__":
    cli.run("fuzz/gen_corpus.py", main)
