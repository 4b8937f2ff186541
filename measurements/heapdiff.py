#!/usr/bin/env python3
"""Group the growth between two heap profiles by the allocating function's package.

Usage: go tool pprof -sample_index=inuse_space -base BEFORE.pprof -top -nodecount=5000 AFTER.pprof \
         | python3 measurements/heapdiff.py
(the soak writes heap-half.pprof and heap.pprof with CHAOS_SOAK_PPROF). Flat bytes per package,
largest change first; the allocating site is where memory was allocated, not who holds it.
"""
import collections, re, sys

def size(s):
    m = re.fullmatch(r'(-?[0-9.]+)([kMG]?B)?', s)
    return float(m.group(1)) * {'B': 1, 'kB': 1e3, 'MB': 1e6, 'GB': 1e9, None: 1}[m.group(2)]

by = collections.Counter()
started = False
for line in sys.stdin:
    f = line.split()
    if f[:2] == ['flat', 'flat%']:
        started = True
        continue
    if not started or len(f) < 6:
        continue
    name = ' '.join(f[5:])
    name = re.sub(r'\[.*', '', name)  # generic shapes
    pkg = re.match(r'((?:[\w.-]+/)*[\w-]+)', name).group(1)
    by[pkg] += size(f[0])
for k, v in sorted(by.items(), key=lambda kv: -abs(kv[1]))[:25]:
    print(f'{v / 1e6:+8.2f} MB  {k}')
print(f'{sum(by.values()) / 1e6:+8.2f} MB  total')
