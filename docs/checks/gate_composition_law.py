# An independent computation of GateCompositionLaw (Sources/Kernels/GateCompositionLaw.swift),
# the source of the golden values in Tests/KernelsTests/GateCompositionLawTests.swift
# (`v3LawAgreesWithAnIndependentQuadrature`).
#
# The same integral over (t, x) — t the smallest kept group score, x the last pick's affinity —
# but each group term integrated over b with 16-point Gauss–Legendre instead of the Swift code's
# closed forms, 8 points per outer panel, and checked against a Monte Carlo of the gate itself
# (every affinity drawn, groups scored by their top two, top-M groups kept, top-K picks).
#
#   python3 docs/checks/gate_composition_law.py GROUPS KEPT GROUP_SIZE K [POINTS]
#   python3 docs/checks/gate_composition_law.py 8 4 32 8     # DeepSeek-V3 (≈ 25 s; needs numpy)
#
# Prints each partition's probability from the quadrature and from 200,000 Monte Carlo tokens.
# Run 2026-11-24: V3 sums to 1 − 1.8e-10; P(3+2+2+1) = 0.5461279833, P(2+2+2+2) = 0.1831398420,
# P(4+2+1+1) = 0.1270278930, P(8) = 3.8587866e-7 (Monte Carlo 0.5477, 0.1828, 0.1260, 5e-6).
import numpy as np, math, itertools, sys
from numpy.polynomial.legendre import leggauss
GLX, GLW = leggauss(16)

def pieces(points, lo, hi):
    ps = sorted(set([lo, hi] + [p for p in points if lo < p < hi]))
    return list(zip(ps[:-1], ps[1:]))

def gl(a, b):
    return 0.5*(b-a)*GLX + 0.5*(b+a), 0.5*(b-a)*GLW

def binom_rows(b, x, N, R):
    # rho[r] = C(N,r)(b-x)^r x^(N-r) for b > x (vector b), r=0..R
    out = np.zeros((R+1, len(b)))
    w = np.full(len(b), x**N)
    for r in range(R+1):
        if r > N: break
        out[r] = w
        w = w * (N - r)/(r + 1) * (b - x)/x
    return out

def group_terms(t, x, n, K):
    N = n - 2
    C = n*(n-1)
    A = np.zeros(K+2); B = np.zeros(K+2); Ap = np.zeros(K+2); Bp = np.zeros(K+2)
    bp = [t/2, t-1, x, t-x]
    # A
    for (p, q) in pieces(bp, max(0.0, t-1), 1.0):
        b, w = gl(p, q)
        lo = np.maximum(b, t-b)
        la = np.clip(1 - np.maximum(lo, x), 0, None)
        lb = np.clip(x - lo, 0, None)
        if q <= x:
            rho = b**N
            A[1] += C*np.sum(w*la*rho); A[0] += C*np.sum(w*lb*rho)
        else:
            rows = binom_rows(b, x, N, K)
            for r in range(K+1):
                base = 1 + r
                if base+1 <= K+1: A[base+1] += C*np.sum(w*la*rows[r])
                if base <= K+1: A[base] += C*np.sum(w*lb*rows[r])
    # B: b in (max(0,t-1), min(t/2,1))
    if t/2 > max(0.0, t-1):
        for (p, q) in pieces(bp, max(0.0, t-1), min(t/2, 1.0)):
            b, w = gl(p, q)
            a = t - b
            above_a = (a > x).astype(float)
            if q <= x:
                rho = b**N
                # count = (a>x)
                B[1] += C*np.sum(w*rho*above_a); B[0] += C*np.sum(w*rho*(1-above_a))
            else:
                rows = binom_rows(b, x, N, K)
                for r in range(K+1):
                    base = 1 + r  # b > x
                    B[min(base+1, K+1)] += C*np.sum(w*rows[r]*above_a)
                    B[min(base, K+1)] += C*np.sum(w*rows[r]*(1-above_a))
    # A'
    lo_b = max(0.0, t - x)
    if x > lo_b:
        Ap[1] += C*(x**(N+1) - lo_b**(N+1))/(N+1)
    Ap[2] += C*x**N*max(0.0, 1 - max(x, t-x))
    if N >= 1:
        for (p, q) in pieces(bp, max(x, t-1, 0.0), 1.0):
            b, w = gl(p, q)
            lo = np.maximum(b, t-b); la = np.clip(1-lo, 0, None)
            rows = binom_rows(b, x, N-1, K)
            for r in range(K+1):
                if r+3 <= K+1: Ap[r+3] += C*N*np.sum(w*la*rows[r])
    # B'
    if 0 < t-x < x: Bp[1] += C*(t-x)**N
    if x < t-x < 1: Bp[2] += C*x**N
    if N >= 1:
        lo = max(x, t-1, 0.0); hi = min(t/2, 1.0)
        if hi > lo:
            for (p, q) in pieces(bp, lo, hi):
                b, w = gl(p, q)
                rows = binom_rows(b, x, N-1, K)
                for r in range(K+1):
                    if r+3 <= K+1: Bp[r+3] += C*N*np.sum(w*rows[r])
    return A[:K+1], B[:K+1], Ap[:K+1], Bp[:K+1]

def survival(t, n):
    N = n-2; C = n*(n-1); s = 0
    for (p, q) in pieces([t/2], max(0.0, t-1), 1.0):
        b, w = gl(p, q)
        s += C*np.sum(w*b**N*np.clip(1-np.maximum(b, t-b), 0, None))
    return s

def partitions(K, parts, maxpart):
    def rec(rem, k, mx):
        if rem == 0: yield []; return
        if k == 0: return
        for p in range(min(rem, mx), 0, -1):
            for rest in rec(rem-p, k-1, p): yield [p]+rest
    return list(rec(K, parts, maxpart))

def graded(lo, hi, extra):
    # geometric edges toward hi (where the mass is)
    edges = [lo, hi]
    L = hi - lo
    for k in range(0, 14): edges.append(hi - L*2.0**-k)
    edges += extra
    return sorted(set(e for e in edges if lo <= e <= hi))

def law(G, Kg, n, K, nodes=8):
    gx, gw = leggauss(nodes)
    parts = partitions(K, Kg, n)
    vecs = [p + [0]*(Kg-len(p)) for p in parts]
    arr = [math.factorial(Kg)/np.prod([math.factorial(v.count(c)) for c in set(v)]) for v in vecs]
    total = np.zeros(len(parts))
    for (tp, tq) in zip(graded(0,2,[1.0])[:-1], graded(0,2,[1.0])[1:]):
        for tn, tw in zip(0.5*(tq-tp)*gx+0.5*(tq+tp), 0.5*(tq-tp)*gw):
            F = 1 - survival(tn, n)
            Fpow = F**(G-Kg)
            xe = graded(0, 1, [e for e in (tn/2, tn-1, tn) if 0 < e < 1])
            for (xp, xq) in zip(xe[:-1], xe[1:]):
                for xn, xw in zip(0.5*(xq-xp)*gx+0.5*(xq+xp), 0.5*(xq-xp)*gw):
                    A, B, Ap, Bp = group_terms(tn, xn, n, K)
                    for i, v in enumerate(vecs):
                        p00, p10, p01, p11 = 1.0, 0.0, 0.0, 0.0
                        for c in v:
                            p11 = p11*A[c] + p01*B[c] + p10*Ap[c] + p00*Bp[c]
                            p10 = p10*A[c] + p00*B[c]
                            p01 = p01*A[c] + p00*Ap[c]
                            p00 = p00*A[c]
                        total[i] += tw*xw*Fpow*p11
    total *= math.comb(G, Kg) * np.array(arr)
    return {"+".join(map(str, p)): v for p, v in zip(parts, total)}

def mc(G, Kg, n, K, tokens, seed=1):
    rng = np.random.default_rng(seed)
    u = rng.random((tokens, G, n))
    s = np.sort(u, axis=2)
    score = s[:, :, -1] + s[:, :, -2]
    kept = np.argsort(-score, axis=1)[:, :Kg]
    out = {}
    for i in range(tokens):
        vals = u[i, kept[i]].ravel()
        top = np.argsort(-vals)[:K]
        cnt = np.bincount(top // n, minlength=Kg)
        key = "+".join(map(str, sorted([c for c in cnt if c > 0], reverse=True)))
        out[key] = out.get(key, 0) + 1
    return {k: v/tokens for k, v in out.items()}

if __name__ == "__main__":
    G, Kg, n, K = map(int, sys.argv[1:5])
    import time; t0 = time.time()
    L = law(G, Kg, n, K, int(sys.argv[5]) if len(sys.argv) > 5 else 8)
    print("law time", time.time()-t0, "sum", sum(L.values()))
    M = mc(G, Kg, n, K, 200000)
    for k in L: print(k, L[k], M.get(k, 0))
