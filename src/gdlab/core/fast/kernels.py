"""Numba kernels: whole epochs of linear models with the built-in losses and optimisers.

One call runs a full epoch (every mini-batch, or the single full batch) in compiled code.

* Full batch: each row of X is read once; its forward and backward passes are fused (for a
  single output, four rows at a time with a scalar loss, so the loop stays in registers
  and is bound by memory bandwidth). Large sets are split into fixed 4 096-row chunks summed
  in parallel and reduced in chunk order, so results are bit-identical from run to run.
* Mini-batch: the epoch's rows are gathered, in the epoch's random order, block by block
  (a few thousand rows) into two reused buffers, with software prefetch of the rows ahead
  into L2 (random rows are cache misses: this is the memory-bound part). The steps run
  serially on one block, which is in cache, while the other threads gather the next block;
  the stepping thread then claims what is left of that gather (an atomic counter of
  256-row chunks), so the gather and the steps overlap without a split to tune.

numba's on-disk cache (``cache=True``) is keyed on this file only: after a change to
:mod:`gdlab.core.fast.prefetch` (its ``LOCALITY``) or :mod:`gdlab.core.fast.atomic`, touch
this file so stale kernels recompile.

The update rules are the same as :mod:`gdlab.core.optim.transform` (torch.optim's); the
torch-parity tests run against both.

Codes: loss 0 squared_error, 1 huber, 2 binary log-loss, 3 multinomial log-loss.
Optimiser 0 sgd [momentum, dampening, nesterov, weight_decay];
1 adagrad [lr_decay, weight_decay, initial_accumulator_value, eps];
2 rmsprop [alpha, eps, weight_decay, momentum, centered];
3 adam / 4 adamw [beta1, beta2, eps, weight_decay, amsgrad];
5 nadam [beta1, beta2, eps, weight_decay, momentum_decay].
State: ``S`` (3, n_params) buffers and ``scal`` = [t, mu_product].
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from gdlab.core.fast.atomic import fetch_add
from gdlab.core.fast.compile_notice import announce_compilation
from gdlab.core.fast.prefetch import prefetch, prefetch1

announce_compilation()

CHUNK = 4096
PREFETCH_AHEAD = 16
"""Rows ahead in the epoch's order whose cache lines a gather asks for (measured best 8-32)."""
PARALLEL_GATHER = 1 << 15
"""Blocks of at least this many values are gathered by all threads, while one of them steps."""
GATHER_CHUNK = 256
"""Rows per unit of gather work that the threads claim one at a time."""


@njit(cache=True, nogil=True)
def _row_loss_grad(z, yi, loss_id, eps, dz):
    """Loss of one row from its raw outputs z; writes ∂ℓ/∂z into dz."""
    k = z.shape[0]
    if loss_id == 0:
        r = z[0] - yi
        dz[0] = r
        return 0.5 * r * r
    if loss_id == 1:
        r = z[0] - yi
        a = abs(r)
        if a <= eps:
            dz[0] = r
            return 0.5 * r * r
        dz[0] = eps if r > 0 else -eps
        return eps * (a - 0.5 * eps)
    if loss_id == 2:
        zz = z[0]
        if zz >= 0:
            e = math.exp(-zz)
            s = 1.0 / (1.0 + e)
            lse = zz + math.log1p(e)
        else:
            e = math.exp(zz)
            s = e / (1.0 + e)
            lse = math.log1p(e)
        dz[0] = s - yi
        return lse - yi * zz
    c = int(yi)
    m = z[0]
    for j in range(1, k):
        if z[j] > m:
            m = z[j]
    tot = 0.0
    for j in range(k):
        dz[j] = math.exp(z[j] - m)
        tot += dz[j]
    for j in range(k):
        dz[j] /= tot
    dz[c] -= 1.0
    return m + math.log(tot) - z[c]


@njit(cache=True, nogil=True)
def _loss1(z, yi, loss_id, eps):
    """(loss, ∂loss/∂z) of one row of a single-output model (losses 0-2), in float64."""
    z = float(z)
    yi = float(yi)
    if loss_id == 0:
        r = z - yi
        return 0.5 * r * r, r
    if loss_id == 1:
        r = z - yi
        a = abs(r)
        if a <= eps:
            return 0.5 * r * r, r
        return eps * (a - 0.5 * eps), (eps if r > 0 else -eps)
    if z >= 0:
        e = math.exp(-z)
        return z + math.log1p(e) - yi * z, 1.0 / (1.0 + e) - yi
    e = math.exp(z)
    return math.log1p(e) - yi * z, e / (1.0 + e) - yi


@njit(cache=True, nogil=True)
def _weighted(wi, value, dz):
    """wᵢ·(loss, gradient); a zero-weight row contributes exactly nothing, even if non-finite."""
    if wi == 0.0:
        return 0.0, 0.0
    return wi * value, wi * dz


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _linear_rows(X, y, sw, order, start, stop, w, b0, loss_id, eps, g):
    """Single-output model: Σ wᵢ ℓᵢ over rows ``order[start:stop]`` (``order`` None: the rows
    ``start:stop``), adding Σ wᵢ ∂ℓᵢ/∂w into ``g``; returns (loss sum, Σ wᵢ ∂ℓᵢ/∂b).

    Four rows at a time: four independent dot products, then one pass that adds all four
    rows into ``g``. Sums are reassociated (vectorised): deterministic for a given build,
    within rounding of the sequential sum."""
    d = X.shape[1]
    cast = X.dtype.type
    zero = cast(0.0)
    total = 0.0
    gb = 0.0
    t = start
    while t + 4 <= stop:
        if order is None:
            i0, i1, i2, i3 = t, t + 1, t + 2, t + 3
        else:
            i0, i1, i2, i3 = order[t], order[t + 1], order[t + 2], order[t + 3]
        a0 = zero
        a1 = zero
        a2 = zero
        a3 = zero
        for f in range(d):
            wf = w[f]
            a0 += X[i0, f] * wf
            a1 += X[i1, f] * wf
            a2 += X[i2, f] * wf
            a3 += X[i3, f] * wf
        v0, r0 = _loss1(a0 + b0, y[i0], loss_id, eps)
        v1, r1 = _loss1(a1 + b0, y[i1], loss_id, eps)
        v2, r2 = _loss1(a2 + b0, y[i2], loss_id, eps)
        v3, r3 = _loss1(a3 + b0, y[i3], loss_id, eps)
        v0, r0 = _weighted(sw[i0], v0, r0)
        v1, r1 = _weighted(sw[i1], v1, r1)
        v2, r2 = _weighted(sw[i2], v2, r2)
        v3, r3 = _weighted(sw[i3], v3, r3)
        total += (v0 + v1) + (v2 + v3)
        gb += (r0 + r1) + (r2 + r3)
        c0 = cast(r0)
        c1 = cast(r1)
        c2 = cast(r2)
        c3 = cast(r3)
        for f in range(d):
            g[f] += X[i0, f] * c0 + X[i1, f] * c1 + X[i2, f] * c2 + X[i3, f] * c3
        t += 4
    while t < stop:
        i = t if order is None else order[t]
        a = zero
        for f in range(d):
            a += X[i, f] * w[f]
        v, r = _loss1(a + b0, y[i], loss_id, eps)
        v, r = _weighted(sw[i], v, r)
        total += v
        gb += r
        c = cast(r)
        for f in range(d):
            g[f] += X[i, f] * c
        t += 1
    return total, gb


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _accumulate_rows(X, y, sw, order, start, stop, W, b, loss_id, eps, gW, gb, z, dz):
    """Σ over rows order[start:stop] (``order`` None: rows start:stop) of wᵢ ℓᵢ, adding
    wᵢ ∂ℓᵢ/∂θ into gW, gb.

    The dot products are reassociated (vectorised): deterministic for a given build,
    within rounding of the sequential sum.
    """
    d, k = W.shape
    if k == 1 and loss_id != 3:
        total, g0 = _linear_rows(
            X, y, sw, order, start, stop, W.reshape(d), b[0], loss_id, eps, gW.reshape(d)
        )
        gb[0] += g0
        return total
    total = 0.0
    for t in range(start, stop):
        i = t if order is None else order[t]
        wi = sw[i]
        if wi == 0.0:
            continue
        xi = X[i]
        for j in range(k):
            z[j] = b[j]
        for f in range(d):
            xf = xi[f]
            for j in range(k):
                z[j] += xf * W[f, j]
        total += wi * _row_loss_grad(z, y[i], loss_id, eps, dz)
        for j in range(k):
            dz[j] *= wi
            gb[j] += dz[j]
        for f in range(d):
            xf = xi[f]
            for j in range(k):
                gW[f, j] += xf * dz[j]
    return total


@njit(cache=True, nogil=True, parallel=True)
def full_value_grad(X, y, sw, rows, W, b, loss_id, eps, gW, gb):
    """Weighted-sum loss and gradient over the rows ``rows`` of X (None: all rows; y and sw
    are indexed like X), in 4 096-row chunks summed in parallel and reduced in order."""
    n = X.shape[0] if rows is None else rows.shape[0]
    d, k = W.shape
    n_chunks = (n + CHUNK - 1) // CHUNK
    accW = np.zeros((n_chunks, d, k), dtype=gW.dtype)
    accb = np.zeros((n_chunks, k), dtype=gb.dtype)
    accl = np.zeros(n_chunks)
    for c in prange(n_chunks):
        z = np.empty(k, dtype=W.dtype)
        dz = np.empty(k, dtype=W.dtype)
        start = c * CHUNK
        stop = min(n, start + CHUNK)
        accl[c] = _accumulate_rows(
            X, y, sw, rows, start, stop, W, b, loss_id, eps, accW[c], accb[c], z, dz
        )
    gW[:] = 0.0
    gb[:] = 0.0
    total = 0.0
    for c in range(n_chunks):
        gW += accW[c]
        gb += accb[c]
        total += accl[c]
    return total


@njit(cache=True, nogil=True)
def full_value_grad_serial(X, y, sw, rows, W, b, loss_id, eps, gW, gb):
    """:func:`full_value_grad` in one thread, for sets too small to be worth splitting."""
    n = X.shape[0] if rows is None else rows.shape[0]
    k = W.shape[1]
    z = np.empty(k, dtype=W.dtype)
    dz = np.empty(k, dtype=W.dtype)
    gW[:] = 0.0
    gb[:] = 0.0
    return _accumulate_rows(X, y, sw, rows, 0, n, W, b, loss_id, eps, gW, gb, z, dz)


@njit(cache=True, nogil=True)
def _penalty(W, gW, alpha, l1_ratio):
    value = 0.0
    if alpha == 0.0:
        return value
    flat = W.reshape(-1)
    g = gW.reshape(-1)
    for i in range(flat.shape[0]):
        w = flat[i]
        if l1_ratio != 0.0:
            value += alpha * l1_ratio * abs(w)
            s = 1.0 if w > 0 else (-1.0 if w < 0 else 0.0)
            g[i] += alpha * l1_ratio * s
        if l1_ratio != 1.0:
            value += 0.5 * alpha * (1.0 - l1_ratio) * w * w
            g[i] += alpha * (1.0 - l1_ratio) * w
    return value


@njit(cache=True, nogil=True)
def _sq_norm(a):
    """Σ aᵢ² summed in float64 (numba's ``float(v)`` keeps a float32 v in float32, whose
    square overflows from 1.8e19 on)."""
    s = 0.0
    for v in a.reshape(-1):
        x = np.float64(v)
        s += x * x
    return s


@njit(cache=True, nogil=True)
def _update(theta, g, S, off, opt_id, hp, lr, t, mu_product, mu, mu_next):
    """In-place optimiser step on one flat parameter block; S[:, off:off+len] its state."""
    m = theta.shape[0]
    if opt_id == 0:
        momentum, dampening, nesterov, wd = hp[0], hp[1], hp[2], hp[3]
        for i in range(m):
            gi = g[i] + wd * theta[i]
            if momentum != 0.0:
                if t == 1:
                    buf = gi
                else:
                    buf = momentum * S[0, off + i] + (1.0 - dampening) * gi
                S[0, off + i] = buf
                gi = gi + momentum * buf if nesterov != 0.0 else buf
            theta[i] -= lr * gi
    elif opt_id == 1:
        lr_decay, wd, eps = hp[0], hp[1], hp[3]
        decay = 1.0 / (1.0 + (t - 1) * lr_decay)
        for i in range(m):
            gi = g[i] + wd * theta[i]
            S[0, off + i] += gi * gi
            u = gi / (math.sqrt(S[0, off + i]) + eps)
            if decay != 1.0:
                u *= decay
            theta[i] -= lr * u
    elif opt_id == 2:
        alpha, eps, wd, momentum, centered = hp[0], hp[1], hp[2], hp[3], hp[4]
        for i in range(m):
            gi = g[i] + wd * theta[i]
            sq = alpha * S[0, off + i] + (1.0 - alpha) * (gi * gi)
            S[0, off + i] = sq
            if centered != 0.0:
                avg = S[1, off + i]
                avg += (1.0 - alpha) * (gi - avg)
                S[1, off + i] = avg
                denom = math.sqrt(sq - avg * avg) + eps
            else:
                denom = math.sqrt(sq) + eps
            u = gi / denom
            if momentum != 0.0:
                u = momentum * S[2, off + i] + u
                S[2, off + i] = u
            theta[i] -= lr * u
    elif opt_id == 3 or opt_id == 4:
        b1, b2, eps, wd, amsgrad = hp[0], hp[1], hp[2], hp[3], hp[4]
        bc1 = 1.0 - b1**t
        bc2_sqrt = math.sqrt(1.0 - b2**t)
        for i in range(m):
            if opt_id == 4:
                theta[i] *= 1.0 - lr * wd
                gi = g[i]
            else:
                gi = g[i] + wd * theta[i]
            mm = S[0, off + i]
            mm += (1.0 - b1) * (gi - mm)
            S[0, off + i] = mm
            v = b2 * S[1, off + i] + (1.0 - b2) * (gi * gi)
            S[1, off + i] = v
            if amsgrad != 0.0:
                if v > S[2, off + i]:
                    S[2, off + i] = v
                v = S[2, off + i]
            denom = math.sqrt(v) / bc2_sqrt + eps
            theta[i] -= lr * ((mm / denom) / bc1)
    else:
        b1, b2, eps, wd = hp[0], hp[1], hp[2], hp[3]
        bc2 = 1.0 - b2**t
        c_grad = (1.0 - mu) / (1.0 - mu_product)
        c_m = mu_next / (1.0 - mu_product * mu_next)
        for i in range(m):
            gi = g[i] + wd * theta[i]
            mm = S[0, off + i]
            mm += (1.0 - b1) * (gi - mm)
            S[0, off + i] = mm
            v = b2 * S[1, off + i] + (1.0 - b2) * (gi * gi)
            S[1, off + i] = v
            denom = math.sqrt(v / bc2) + eps
            theta[i] -= lr * ((c_grad * gi + c_m * mm) / denom)


@njit(cache=True, nogil=True)
def _step(W, b, gW, gb, S, scal, opt_id, hp, lr, clip):
    """Clip, then one optimiser step on W and b (state counters in ``scal``)."""
    if clip > 0.0:
        total = math.sqrt(_sq_norm(gW) + _sq_norm(gb))
        coef = min(1.0, clip / (total + 1e-6))
        gW *= coef
        gb *= coef
    scal[0] += 1.0
    t = int(scal[0])
    mu = 0.0
    mu_next = 0.0
    if opt_id == 5:
        psi = hp[4]
        mu = hp[0] * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = hp[0] * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        scal[1] *= mu
    nW = W.size
    _update(W.reshape(-1), gW.reshape(-1), S, 0, opt_id, hp, lr, t, scal[1], mu, mu_next)
    _update(b, gb, S, nW, opt_id, hp, lr, t, scal[1], mu, mu_next)


@njit(cache=True, nogil=True)
def _gather_rows(X, y, sw, order, base, lo, hi, xbuf, ybuf, wbuf, center, scale):
    """Copy rows order[base+lo : base+hi] into buffer rows lo:hi, prefetching ahead; with a
    non-empty ``center``/``scale`` the copy is standardised, (x - center) * scale."""
    n = order.shape[0]
    d = X.shape[1]
    line = max(1, 64 // X.itemsize)
    for t in range(lo, hi):
        ahead = base + t + PREFETCH_AHEAD
        if ahead < n:
            j = order[ahead]
            for f in range(0, d, line):
                prefetch(X, j, f)
            prefetch(X, j, d - 1)
            prefetch1(y, j)
            prefetch1(sw, j)
        i = order[base + t]
        ybuf[t] = y[i]
        wbuf[t] = sw[i]
        if center.shape[0] == 0:
            for f in range(d):
                xbuf[t, f] = X[i, f]
        else:
            for f in range(d):
                xbuf[t, f] = (X[i, f] - center[f]) * scale[f]


@njit(cache=True, nogil=True, parallel=True)
def _gather_rows_parallel(X, y, sw, order, base, m, xbuf, ybuf, wbuf, center, scale, parts):
    """:func:`_gather_rows` of buffer rows 0:m split evenly over ``parts`` threads."""
    per = (m + parts - 1) // parts
    for p in prange(parts):
        lo = min(m, p * per)
        hi = min(m, lo + per)
        _gather_rows(X, y, sw, order, base, lo, hi, xbuf, ybuf, wbuf, center, scale)


@njit(cache=True, nogil=True)
def _gather_claimed(X, y, sw, order, base, m, xbuf, ybuf, wbuf, center, scale, counter, slot):
    """:func:`_gather_rows` of buffer rows 0:m in chunks of ``GATHER_CHUNK`` rows, each chunk
    claimed from ``counter[slot]``: threads calling this share the block's rows, however late
    each starts, and return when no chunk is left."""
    while True:
        lo = fetch_add(counter, slot, 1) * GATHER_CHUNK
        if lo >= m:
            return
        hi = min(m, lo + GATHER_CHUNK)
        _gather_rows(X, y, sw, order, base, lo, hi, xbuf, ybuf, wbuf, center, scale)


@njit(cache=True, nogil=True)
def _block_steps(xbuf, ybuf, wbuf, m, batch_size, mean_w, loss_scale, n_rows, W, b, gW, gb, z,
                 dz, loss_id, eps, alpha, l1_ratio, clip, opt_id, hp, lr, S, scal, acc):
    """The mini-batch steps over buffer rows 0:m (whole batches, the last one maybe partial).
    A batch B's data gradient is Σ_B wᵢ ∇ℓᵢ / (|B|·w̄), ``mean_w`` = w̄ the mean weight of the
    epoch's ``n_rows`` rows (unbiased for the weighted-mean objective's gradient), or in
    ``partial_fit`` the running mean weight of all rows seen; the recorded loss's data part
    is multiplied by ``loss_scale`` (w̄ over the epoch's own mean weight; 1 in ``fit``).
    Adds the epoch's weighted loss, the summed gradient norm and the steps into acc[0:3];
    at a non-finite loss or gradient stops, leaves them in acc[3:5] and returns False."""
    for lo in range(0, m, batch_size):
        hi = min(m, lo + batch_size)
        gW[:] = 0.0
        gb[:] = 0.0
        loss = _accumulate_rows(xbuf, ybuf, wbuf, None, lo, hi, W, b, loss_id, eps, gW, gb, z, dz)
        inv = 1.0 / ((hi - lo) * mean_w)
        data = loss * inv
        gW *= inv
        gb *= inv
        pen = _penalty(W, gW, alpha, l1_ratio)
        loss = data + pen
        gnorm = math.sqrt(_sq_norm(gW) + _sq_norm(gb))
        if not (math.isfinite(loss) and math.isfinite(gnorm)):
            acc[3] = loss
            acc[4] = gnorm
            return False
        acc[0] += (data * loss_scale + pen) * ((hi - lo) / n_rows)  # Σ_B wᵢ ℓᵢ / Σ_all w
        acc[1] += gnorm
        acc[2] += 1.0
        _step(W, b, gW, gb, S, scal, opt_id, hp, lr, clip)
    return True


@njit(cache=True, nogil=True, parallel=True)
def _steps_while_gathering(xbuf, ybuf, wbuf, cur, m, X, y, sw, order, base, m_next, center,
                           scale, counter, slot, parts, batch_size, mean_w, loss_scale, n_rows,
                           W, b, gW, gb, z, dz, loss_id, eps, alpha, l1_ratio, clip, opt_id, hp,
                           lr, S, scal, acc, finite):
    """One thread runs the steps on the gathered block in buffer ``cur`` (m rows) and then
    helps the others, which meanwhile gather the next block (``m_next`` rows from ``base``
    in the order) into the other buffer. Both buffers are parts of xbuf/ybuf/wbuf."""
    nxt = 1 - cur
    for p in prange(parts):
        if p == 0:
            finite[0] = _block_steps(
                xbuf[cur], ybuf[cur], wbuf[cur], m, batch_size, mean_w, loss_scale, n_rows, W,
                b, gW, gb, z, dz, loss_id, eps, alpha, l1_ratio, clip, opt_id, hp, lr, S, scal,
                acc,
            )
        _gather_claimed(X, y, sw, order, base, m_next, xbuf[nxt], ybuf[nxt], wbuf[nxt],
                        center, scale, counter, slot)


@njit(cache=True, nogil=True)
def minibatch_epoch(X, y, sw, mean_w, loss_scale, order, batch_size, xbuf, ybuf, wbuf, center,
                    scale, W, b, gW, gb, loss_id, eps, alpha, l1_ratio, clip, opt_id, hp, lr, S,
                    scal, threads):
    """One epoch of mini-batch steps in the row order ``order`` (row numbers of X, y, sw).

    The rows are gathered, standardised by ``center``/``scale`` when they are not empty, a
    block of whole batches at a time into one of two buffers (xbuf/ybuf/wbuf: shape (2, block,
    ...)). With ``threads`` > 1 and large blocks, the steps on one block run while the other
    threads gather the next block, and the stepping thread then joins them (results do not
    depend on who copied which row). ``mean_w``: w̄, the epoch's rows' mean weight (in
    ``partial_fit`` the running mean of all rows seen); each batch's gradient is scaled by
    1 / (its rows · w̄), the recorded loss's data part by ``loss_scale``, see
    :func:`_block_steps`. Returns (weighted mean loss, mean grad norm, steps, finite)."""
    n = order.shape[0]
    d, k = W.shape
    block = xbuf.shape[1]
    z = np.empty(k, dtype=W.dtype)
    dz = np.empty(k, dtype=W.dtype)
    acc = np.zeros(5)
    finite = np.ones(1, dtype=np.bool_)
    first = min(n, block)
    pipelined = threads > 1 and first * d >= PARALLEL_GATHER
    counter = np.zeros((n + block - 1) // block, dtype=np.int64)
    if pipelined:  # block ``slot`` is stepped on in buffer ``slot % 2``
        _gather_rows_parallel(X, y, sw, order, 0, first, xbuf[0], ybuf[0], wbuf[0], center,
                              scale, threads)
    for slot, base in enumerate(range(0, n, block)):
        m = min(n, base + block) - base
        if not pipelined:
            _gather_rows(X, y, sw, order, base, 0, m, xbuf[0], ybuf[0], wbuf[0], center, scale)
            finite[0] = _block_steps(
                xbuf[0], ybuf[0], wbuf[0], m, batch_size, mean_w, loss_scale, n, W, b, gW, gb,
                z, dz, loss_id, eps, alpha, l1_ratio, clip, opt_id, hp, lr, S, scal, acc,
            )
        else:
            nbase = base + block
            m_next = max(0, min(n, nbase + block) - nbase)
            _steps_while_gathering(
                xbuf, ybuf, wbuf, slot % 2, m, X, y, sw, order, nbase, m_next, center, scale,
                counter, slot, threads, batch_size, mean_w, loss_scale, n, W, b, gW, gb, z, dz,
                loss_id, eps, alpha, l1_ratio, clip, opt_id, hp, lr, S, scal, acc, finite,
            )
        if not finite[0]:
            return acc[3], acc[4], int(acc[2]), False
    steps = int(acc[2])
    return acc[0], acc[1] / max(steps, 1), steps, True
