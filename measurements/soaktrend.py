#!/usr/bin/env python3
# soaktrend.py CSV: least-squares slopes of a TestSoak CSV (CHAOS_SOAK_OUT) over windows of the run.
# CSVs from the ninth session on have an at_rest column: samples taken right after a measured
# convergence (nothing in flight). The periodic samples and the samples at rest are fitted apart;
# the slopes of the samples at rest come with their standard error.
import sys, csv, math
rows = [r for r in csv.reader(open(sys.argv[1]))]
hdr = rows[0]; rows = [[float(x) for x in r] for r in rows[1:]]
print(hdr)
rest_col = hdr.index('at_rest') if 'at_rest' in hdr else None
periodic = [r for r in rows if rest_col is None or r[rest_col] == 0]
rest = [r for r in rows if rest_col is not None and r[rest_col] == 1]

def fit(xs, ys):
    n = len(xs); mx = sum(xs) / n; my = sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den
    rss = sum((y - my - b * (x - mx)) ** 2 for x, y in zip(xs, ys))
    se = math.sqrt(rss / (n - 2) / den) if n > 2 else 0.0
    return b, se

T = periodic[-1][0]
for lo, hi, name in [(0, T / 2, 'first half'), (T / 2, T, 'second half'), (2 * T / 3, T, 'last third'), (T * 0.75, T, 'last quarter')]:
    for label, sel_rows, cols in [('', periodic, [(1, 'inuse'), (7, 'live'), (2, 'goroutines')]), ('rest ', rest, [(7, 'live')])]:
        sel = [r for r in sel_rows if lo <= r[0] <= hi]
        if len(sel) < 3:
            continue
        xs = [r[0] / 60 for r in sel]
        for col, what in cols:
            ys = [r[col] / (1 << 20) if col in (1, 7) else r[col] for r in sel]
            b, se = fit(xs, ys)
            print(f"{name:13s} {label + what:12s} slope {b:+7.3f} ± {se:5.3f}/min  min {min(ys):7.1f} max {max(ys):7.1f} mean {sum(ys)/len(ys):7.1f} n={len(ys)}")
print("entries first/last", rows[0][4], rows[-1][4])
