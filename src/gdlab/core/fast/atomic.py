"""An atomic counter for compiled kernels: ``fetch_add(counter, i, v)`` adds ``v`` to the int64
``counter[i]`` and returns its previous value, atomically (LLVM's ``atomicrmw add``,
sequentially consistent).

Threads of a parallel region use it to claim units of shared work one at a time, so a thread
that starts late (it had other work first) takes whatever is left: no fixed split to tune.
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def fetch_add(typingctx, counter, index, value):
    """Atomically ``old = counter[index]; counter[index] += value``; returns ``old``."""
    if not (
        isinstance(counter, types.Array)
        and counter.ndim == 1
        and counter.dtype == types.int64
        and isinstance(index, types.Integer)
        and isinstance(value, types.Integer)
    ):
        return None

    def codegen(context, builder, signature, args):
        array_type, index_type, value_type = signature.args
        view = context.make_array(array_type)(context, builder, args[0])
        position = context.cast(builder, args[1], index_type, types.intp)
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, view, [position], wraparound=False
        )
        amount = context.cast(builder, args[2], value_type, types.int64)
        return builder.atomic_rmw("add", pointer, amount, "seq_cst")

    return types.int64(counter, index, value), codegen
