#!/usr/bin/env python3
"""Writes N JSON lines for `vigilctl grade` (default 1,000,000) to stdout."""
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
rng = random.Random(42)
tests = [("HGB", "g/L", 120, 160, 50, 220), ("PLAT", "10^9/L", 150, 400, 10, 500), ("ALT", "U/L", 7, 40, 5, 1000),
         ("K", "mmol/L", 3.5, 5.1, 2, 8), ("CREAT", "umol/L", 45, 100, 30, 800), ("SODIUM", "mmol/L", 135, 145, 115, 165)]
out = sys.stdout
for i in range(n):
    code, unit, lln, uln, lo, hi = tests[i % len(tests)]
    out.write('{"id":"r%d","test":"%s","value":%.2f,"unit":"%s","lln":%s,"uln":%s,"baseline":%s}\n'
              % (i, code, rng.uniform(lo, hi), unit, lln, uln, (lln + uln) / 2))
