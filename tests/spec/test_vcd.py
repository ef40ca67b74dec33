"""The VCD writer: the file parses (a small IEEE 1364 VCD reader below) and its values
equal the traced register states cycle by cycle."""
import numpy as np
import pytest

from refquant.sim import SystolicArray, write_vcd
from refquant.sim import vcd_identifier


def read_vcd(path):
    """Minimal VCD reader: {name: (width, {time: int value})} for the scalar and binary
    vector changes of one scope; values are read as two's complement in their width."""
    ids, widths, changes = {}, {}, {}
    time = None
    tokens = open(path).read().split()
    i = 0
    in_header = True
    while i < len(tokens):
        tok = tokens[i]
        if in_header:
            if tok == "$var":
                _, width, ident, name = tokens[i + 1:i + 5]
                assert tokens[i + 5] == "$end"
                ids[ident] = name
                widths[name] = int(width)
                changes[name] = {}
                i += 6
                continue
            if tok == "$enddefinitions":
                in_header = False
            i += 1
            continue
        if tok.startswith("#"):
            time = int(tok[1:])
        elif tok in ("$dumpvars", "$end"):
            pass
        elif tok[0] in "bB":
            name = ids[tokens[i + 1]]
            v = int(tok[1:], 2)
            w = widths[name]
            changes[name][time] = v - (1 << w) if v >> (w - 1) & 1 else v
            i += 1
        else:
            changes[ids[tok[1:]]][time] = int(tok[0])
        i += 1
    return widths, changes


def value_at(changes, t):
    last = None
    for time in sorted(changes):
        if time > t:
            break
        last = changes[time]
    return last


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_vcd_round_trip(df, tmp_path, rng):
    A = rng.integers(-8, 8, (3, 4))
    B = rng.integers(-8, 8, (4, 3))
    r = SystolicArray(2, 2, df, acc_bits=16).run(A, B, trace=True)
    path = tmp_path / "run.vcd"
    names = write_vcd(path, r.trace, width=16)
    widths, changes = read_vcd(path)
    assert names == list(widths)
    assert widths["clk"] == 1 and widths["cycle"] == 32
    for plane, arr in r.trace.items():
        for i in range(2):
            for j in range(2):
                ch = changes[f"{plane}_r{i}_c{j}"]
                got = [value_at(ch, 2 * t) for t in range(r.cycles)]
                assert got == arr[:, i, j].tolist()
    assert [value_at(changes["cycle"], 2 * t) for t in range(r.cycles)] == list(range(r.cycles))
    assert value_at(changes["clk"], 2 * 3) == 1 and value_at(changes["clk"], 2 * 3 + 1) == 0


def test_vcd_chosen_signals_and_header(tmp_path):
    r = SystolicArray(2, 2, "os").run([[1, -2], [3, 4]], [[5, 6], [7, 8]], trace=True)
    path = tmp_path / "acc.vcd"
    names = write_vcd(path, r.trace, signals=[("acc", 1, 1), ("a", 0, 1)], width=8)
    assert names == ["clk", "cycle", "acc_r1_c1", "a_r0_c1"]
    text = path.read_text()
    assert "$timescale 1ns $end" in text and "$enddefinitions $end" in text
    assert "$var wire 8 # acc_r1_c1 $end" in text
    _, changes = read_vcd(path)
    assert value_at(changes["acc_r1_c1"], 2 * 3) == 3 * 6 + 4 * 8
    assert value_at(changes["a_r0_c1"], 2 * 2) == -2
    with pytest.raises(ValueError, match="width"):
        write_vcd(path, r.trace, signals=[("acc", 1, 1)], width=4)
    with pytest.raises(ValueError, match="plane"):
        write_vcd(path, r.trace, signals=[("nope", 0, 0)])


def test_identifiers_are_unique_printable():
    ids = [vcd_identifier(n) for n in range(20000)]
    assert len(set(ids)) == len(ids)
    assert all(33 <= ord(c) <= 126 for s in ids for c in s)
    assert ids[:3] == ["!", '"', "#"]
