#!/usr/bin/env python3
"""Summarise a chaos sweep's -test.v output: heals by market size, over the design target.

Usage: python3 measurements/chaossum.py sweep.txt [target_ms]   (target default 320 = 300 ms AE + 20 ms)
       python3 measurements/chaossum.py <(zcat measurements/chaos-drawn-1000-2026-11-22.txt.gz)
Reads the per-seed lines "seed N: P peers, ... heals kind:dur kind:dur ... ;" that chaos_test prints.
Lines that also list "rtts" (the market's median QUIC round trip at each heal, sixth session on)
get two more columns: the median of those round trips, and the heals over the target with the
measured round trip in place of the fixed allowance: AE + max(10 ms, rtt) + 10 ms of polling.
Lines that list "frontiers" (seventh session on: when every peer held what any peer held at the
heal, writes made after the heal left out) get three more: frontiers over the fixed target, over
AE + the measured round trip, and the slowest frontier.
Lines that list "cpu" (tenth session on: the cores the process kept busy from the heal to
convergence) get a second table: heals by cores busy, with the share over the target. Heals
shorter than 50 ms are left out of it: over a few milliseconds the kernel's CPU accounting is too
coarse for a ratio (a 1 ms heal can read 2.9 cores on 2).
"""
import re, sys, statistics

def ms(s):
    if s == '0s':
        return 0.0
    m = re.fullmatch(r'(-?[0-9.]+)(ms|s|µs|us|ns)', s)
    v, u = float(m.group(1)), m.group(2)
    return v * {'ms': 1, 's': 1000, 'µs': 1e-3, 'us': 1e-3, 'ns': 1e-6}[u]

target = float(sys.argv[2]) if len(sys.argv) > 2 else 320
buckets = [(8, 8), (9, 16), (17, 24), (25, 32)]
heals = {b: [] for b in buckets}
rtt_of = {b: [] for b in buckets}  # (heal ms, market rtt ms) where the line lists rtts
front_of = {b: [] for b in buckets}  # (frontier ms, market rtt ms) where the line lists frontiers
cpu_of = []  # (cores busy, heal ms, frontier ms, market size, kind) where the line lists cpu
seeds, fails = 0, 0
for line in open(sys.argv[1], encoding='utf-8', errors='replace'):
    m = re.search(r'seed (\d+): (\d+) peers, .*? heals (.*?) ;(?: rtts (.*?);)?(?: frontiers (.*?);)?(?: writes (.*?);)?(?: cpu (.*?);)? late changes', line)
    if m:
        seeds += 1
        peers = int(m.group(2))
        b = next(b for b in buckets if b[0] <= peers <= b[1])
        rtts = [ms(r) for r in m.group(4).split()] if m.group(4) else []
        fronts = [ms(r) for r in m.group(5).split()] if m.group(5) else []
        cpus = [float(c) for c in m.group(7).split()] if m.group(7) else []
        for i, h in enumerate(m.group(3).split()):
            kind, d = h.split(':', 1)
            heals[b].append(ms(d))
            if rtts:
                rtt_of[b].append((ms(d), rtts[i]))
            if fronts:
                front_of[b].append((fronts[i], rtts[i]))
            if cpus and ms(d) >= 50:
                cpu_of.append((cpus[i], ms(d), fronts[i] if fronts else ms(d), peers, kind))
    if re.search(r'--- FAIL: TestChaos/seeds/seed=', line):
        fails += 1
print(f"{seeds} seeds, {fails} failed; target {target:.0f} ms")
withrtt = any(rtt_of.values())
ae = target - 20
withfront = any(front_of.values())
def rttcols(pairs, fronts):
    if not withrtt or not pairs:
        return ""
    rs = sorted(r for _, r in pairs)
    over = sum(h > ae + max(10, r) + 10 for h, r in pairs)
    out = f" {rs[len(rs) // 2]:.1f} ms | {over} |"
    if withfront:
        fs = sorted(f for f, _ in fronts)
        out += f" {sum(f > target for f in fs)} | {sum(f > ae + max(10, r) + 10 for f, r in fronts)} | {fs[-1]:.0f} ms |"
    return out
print("| market size | heals | over the target | p50 | p99 | max |" + (" median round trip | over AE + round trip |" if withrtt else "")
      + (" frontier over the target | frontier over AE + round trip | frontier max |" if withfront else ""))
print("|---|---|---|---|---|---|" + ("---|---|" if withrtt else "") + ("---|---|---|" if withfront else ""))
allh, allp, allf = [], [], []
for b in buckets:
    hs = sorted(heals[b])
    allh += hs
    allp += rtt_of[b]
    allf += front_of[b]
    if not hs:
        continue
    p = lambda q: hs[min(len(hs) - 1, int(q * len(hs)))]
    print(f"| {b[0]}–{b[1]} peers | {len(hs)} | {sum(h > target for h in hs)} | {p(.5):.0f} ms | {p(.99):.0f} ms | {hs[-1]:.0f} ms |" + rttcols(rtt_of[b], front_of[b]))
hs = sorted(allh)
if hs:
    p = lambda q: hs[min(len(hs) - 1, int(q * len(hs)))]
    print(f"| all | {len(hs)} | {sum(h > target for h in hs)} | {p(.5):.0f} ms | {p(.99):.0f} ms | {hs[-1]:.0f} ms |" + rttcols(allp, allf))
if cpu_of:
    print()
    print("| cores busy during the heal (heals of 50 ms or more) | heals | over the target | frontier over the target | p50 | max | kinds |")
    print("|---|---|---|---|---|---|---|")
    for lo, hi in [(0, 1), (1, 1.5), (1.5, 1.8), (1.8, 99)]:
        sel = [c for c in cpu_of if lo <= c[0] < hi]
        if not sel:
            continue
        hs = sorted(c[1] for c in sel)
        kinds = {}
        for c in sel:
            kinds[c[4]] = kinds.get(c[4], 0) + 1
        label = f"{lo:g}–{hi:g}" if hi < 99 else f"≥ {lo:g}"
        print(f"| {label} | {len(sel)} | {sum(h > target for h in hs)} | {sum(c[2] > target for c in sel)} | {hs[len(hs) // 2]:.0f} ms | {hs[-1]:.0f} ms | "
              + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + " |")
