#!/usr/bin/env python3
"""make_corpus.py CAPTURED_DIR — write tests/fuzz/corpus/copydec/ seeds: each COPY stream that
capture_seeds.sh captured from PostgreSQL 15 (and tests/unit/fixtures/*.copy), prefixed with the
fuzz_copydec table description (see the comment at the top of fuzz_copydec.c), in a few shapes:
whole, split in pieces, small chunk capacity, staged mode."""
import os
import sys

# fuzz_copydec.c col_types[] indices
BOOL, INT2, INT4, INT8, OID, F4, F8 = 0, 1, 2, 3, 4, 5, 6
D1_0, D4_2, D7_2, D9_9, D18_6, D19_0, D38_0, D38_18, D38_38 = 7, 8, 9, 10, 11, 12, 13, 14, 15
NUMTEXT, NUMDOUBLE, TEXT, CHAR, BYTEA, DATE, TIME, TIMETZ, TS, TSTZ, INTERVAL, UUID, JSONB = range(16, 29)
L_INT4, L2_TEXT, L_DEC9_2, L_INTERVAL, L_TIMETZ, ENUM, L_ENUM, REC, OUTER, L_REC = range(29, 39)

SEEDS = {
    "bool": [BOOL], "ints": [INT2, INT4, INT8, OID], "floats": [F4, F8],
    "dec4_2": [D4_2], "dec7_2": [D7_2], "dec9_9": [D9_9], "dec18_6": [D18_6], "dec19_0": [D19_0],
    "dec38_0": [D38_0], "dec38_18": [D38_18], "dec38_38": [D38_38], "numtext": [NUMTEXT],
    "text": [TEXT, CHAR, BYTEA], "dates": [DATE, TIME, TIMETZ], "timestamps": [TS, TSTZ],
    "intervals": [INTERVAL], "uuidjson": [UUID, JSONB], "empty": [INT4],
    "arrays": [L_INT4, L2_TEXT, L_DEC9_2], "arrays2": [L_INTERVAL, L_TIMETZ], "enums": [ENUM, L_ENUM],
    "records": [REC, OUTER, L_REC],
    # tests/unit/fixtures/types.copy (test_copydec.c's types_cols)
    "types": [BOOL, INT2, INT4, INT8, F4, F8, D7_2, NUMTEXT, TEXT, DATE, TS, TSTZ, BYTEA, UUID, JSONB,
              TIMETZ, INTERVAL, TIME, D38_18, DATE],
}
# the same bytes read through another decoder of the same width
ALIASES = {"numtext": [NUMDOUBLE], "dec7_2": [D1_0]}


def prefix(cols, staged=False, capacity=3, pieces=1, seed=0):
    b0 = (len(cols) - 1) | (0x40 if staged else 0)
    b1 = capacity | ((pieces - 1) << 2)
    return bytes([b0, b1, seed]) + bytes(cols)


def main():
    src = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "corpus", "copydec")
    fixtures = os.path.join(here, "..", "unit", "fixtures")
    os.makedirs(out, exist_ok=True)
    for name, cols in SEEDS.items():
        path = os.path.join(src, name + ".copy")
        if not os.path.exists(path):
            path = os.path.join(fixtures, name + ".copy")
        data = open(path, "rb").read()
        shapes = {
            "": prefix(cols),
            "-cap1-split": prefix(cols, capacity=0, pieces=8, seed=7),
            "-staged-cap3": prefix(cols, staged=True, capacity=1, pieces=2, seed=1),
            "-staged": prefix(cols, staged=True),
        }
        for alias in ALIASES.get(name, []):
            shapes["-as%d" % alias] = prefix([alias] * len(cols))
        for suffix, pre in shapes.items():
            with open(os.path.join(out, "seed-" + name + suffix), "wb") as f:
                f.write(pre + data)
        # the tuples alone, after a synthetic header (byte 0 bit 5)
        body = data[19:]
        pre = bytearray(prefix(cols))
        pre[0] |= 0x20
        with open(os.path.join(out, "seed-" + name + "-synthetic-header"), "wb") as f:
            f.write(bytes(pre) + body)


main()
