"""A small VCD reader for the tests: signal path -> {time: value} (ints; None for x/z)."""
from __future__ import annotations


def read_vcd(path):
    scopes, ids, values = [], {}, {}
    t = 0
    with open(path) as fh:
        tokens = fh.read().split()
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "$scope":
            scopes.append(tokens[i + 2])
            i += 4
        elif tok == "$upscope":
            scopes.pop()
            i += 2
        elif tok == "$var":
            ident, name = tokens[i + 3], tokens[i + 4]
            ids.setdefault(ident, []).append(".".join(scopes + [name]))
            j = i
            while tokens[j] != "$end":
                j += 1
            i = j + 1
        elif tok in ("$date", "$version", "$comment", "$timescale"):
            while tokens[i] != "$end":
                i += 1
            i += 1
        elif tok.startswith("#"):
            t = int(tok[1:])
            i += 1
        elif tok in ("$dumpvars", "$end", "$enddefinitions", "$dumpall", "$dumpon", "$dumpoff"):
            i += 1
        elif tok[0] in "bB":
            v = tok[1:]
            ident = tokens[i + 1]
            val = None if any(c in "xXzZ" for c in v) else int(v, 2)
            for name in ids.get(ident, []):
                values.setdefault(name, {})[t] = val
            i += 2
        elif tok[0] in "01xXzZ":
            ident = tok[1:]
            val = int(tok[0]) if tok[0] in "01" else None
            for name in ids.get(ident, []):
                values.setdefault(name, {})[t] = val
            i += 1
        else:
            i += 1
    return values


def value_at(changes, time):
    """The value a signal holds at ``time`` (its last change at or before it)."""
    best, val = -1, None
    for t, v in changes.items():
        if best < t <= time:
            best, val = t, v
    return val
