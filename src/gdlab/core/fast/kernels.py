"""Numba kernels: whole epochs of linear models with the built-in losses and optimisers.

One call runs a full epoch (every mini-batch, or the single full batch) in compiled code:
rows are read through the epoch's permutation (no gather copy at all), the per-row forward
and backward passes are fused so each row of X is read once, and the optimiser update runs
in place on the parameters. The full batch is split into fixed 4 096-row chunks summed in
parallel and reduced in chunk order, so results are bit-identical from run to run.

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

CHUNK = 4096


@njit(cache=True)
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


@njit(cache=True, fastmath={"reassoc", "contract"})
def _accumulate_rows(X, y, sw, order, start, stop, W, b, loss_id, eps, gW, gb, z, dz):
    """Σ over rows order[start:stop] of wᵢ ℓᵢ, adding wᵢ ∂ℓᵢ/∂θ into gW, gb.

    The dot products are reassociated (vectorised): deterministic for a given build,
    within rounding of the sequential sum.
    """
    d, k = W.shape
    total = 0.0
    if k == 1:
        w0 = W.reshape(d)
        g0 = gW.reshape(d)
        for t in range(start, stop):
            i = order[t]
            wi = sw[i]
            if wi == 0.0:
                continue
            xi = X[i]
            acc = 0.0
            for f in range(d):
                acc += xi[f] * w0[f]
            z[0] = acc + b[0]
            total += wi * _row_loss_grad(z, y[i], loss_id, eps, dz)
            r = dz[0] * wi
            gb[0] += r
            for f in range(d):
                g0[f] += xi[f] * r
        return total
    for t in range(start, stop):
        i = order[t]
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


@njit(cache=True, parallel=True)
def full_value_grad(X, y, sw, W, b, loss_id, eps, gW, gb):
    """Weighted-sum loss and gradient over all rows, chunked and summed in parallel."""
    n = X.shape[0]
    d, k = W.shape
    n_chunks = (n + CHUNK - 1) // CHUNK
    accW = np.zeros((n_chunks, d, k), dtype=gW.dtype)
    accb = np.zeros((n_chunks, k), dtype=gb.dtype)
    accl = np.zeros(n_chunks)
    order = np.arange(n)
    for c in prange(n_chunks):
        z = np.empty(k, dtype=W.dtype)
        dz = np.empty(k, dtype=W.dtype)
        start = c * CHUNK
        stop = min(n, start + CHUNK)
        accl[c] = _accumulate_rows(
            X, y, sw, order, start, stop, W, b, loss_id, eps, accW[c], accb[c], z, dz
        )
    gW[:] = 0.0
    gb[:] = 0.0
    total = 0.0
    for c in range(n_chunks):
        gW += accW[c]
        gb += accb[c]
        total += accl[c]
    return total


@njit(cache=True)
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


@njit(cache=True)
def _sq_norm(a):
    s = 0.0
    for v in a.reshape(-1):
        s += float(v) * float(v)
    return s


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
def minibatch_epoch(X, y, sw, order, batch_size, W, b, gW, gb, loss_id, eps, alpha,
                    l1_ratio, clip, opt_id, hp, lr, S, scal):
    """One epoch of mini-batch steps; returns (mean loss, mean grad norm, steps, finite)."""
    n = order.shape[0]
    d, k = W.shape
    xbuf = np.empty((batch_size, d), dtype=X.dtype)
    ybuf = np.empty(batch_size, dtype=y.dtype)
    wbuf = np.empty(batch_size, dtype=sw.dtype)
    seq = np.arange(batch_size)
    z = np.empty(k, dtype=W.dtype)
    dz = np.empty(k, dtype=W.dtype)
    total_w = 0.0
    for i in range(X.shape[0]):
        total_w += sw[i]
    epoch_loss = 0.0
    norm_sum = 0.0
    steps = 0
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        m = stop - start
        wsum = 0.0
        for t in range(m):
            i = order[start + t]
            wbuf[t] = sw[i]
            wsum += sw[i]
        if wsum <= 0.0:
            continue
        # gather the batch into one reused buffer: independent loads overlap in memory
        for t in range(m):
            i = order[start + t]
            ybuf[t] = y[i]
            for f in range(d):
                xbuf[t, f] = X[i, f]
        gW[:] = 0.0
        gb[:] = 0.0
        loss = _accumulate_rows(xbuf, ybuf, wbuf, seq, 0, m, W, b, loss_id, eps, gW, gb, z, dz)
        inv = 1.0 / wsum
        loss *= inv
        gW *= inv
        gb *= inv
        loss += _penalty(W, gW, alpha, l1_ratio)
        gnorm = math.sqrt(_sq_norm(gW) + _sq_norm(gb))
        if not (math.isfinite(loss) and math.isfinite(gnorm)):
            return loss, gnorm, steps, False
        epoch_loss += loss * (wsum / total_w)
        norm_sum += gnorm
        steps += 1
        _step(W, b, gW, gb, S, scal, opt_id, hp, lr, clip)
    return epoch_loss, norm_sum / max(steps, 1), steps, True
