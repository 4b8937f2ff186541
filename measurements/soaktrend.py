#!/usr/bin/env python3
# soaktrend.py CSV: least-squares slopes of a TestSoak CSV (CHAOS_SOAK_OUT) over windows of the run.
import sys,csv
rows=[r for r in csv.reader(open(sys.argv[1]))]
hdr=rows[0]; rows=[[float(x) for x in r] for r in rows[1:]]
print(hdr)
def slope(xs,ys):
    n=len(xs); mx=sum(xs)/n; my=sum(ys)/n
    return sum((x-mx)*(y-my) for x,y in zip(xs,ys))/sum((x-mx)**2 for x in xs)
T=rows[-1][0]
for lo,hi,name in [(0,T/2,'first half'),(T/2,T,'second half'),(2*T/3,T,'last third'),(T*0.75,T,'last quarter')]:
    sel=[r for r in rows if lo<=r[0]<=hi]
    xs=[r[0]/60 for r in sel]
    for col,label in [(1,'inuse'),(7,'live'),(2,'goroutines')]:
        ys=[r[col]/(1<<20) if col in (1,7) else r[col] for r in sel]
        print(f"{name:13s} {label:10s} slope {slope(xs,ys):+7.3f}/min  min {min(ys):7.1f} max {max(ys):7.1f} mean {sum(ys)/len(ys):7.1f} n={len(ys)}")
print("entries first/last", rows[0][4], rows[-1][4])
