"""A software prefetch for compiled kernels: ``prefetch(X, i, j)`` (2-D) or
``prefetch1(v, i)`` (1-D) asks the CPU to start loading the cache line that holds that element
(LLVM's ``llvm.prefetch``; no effect on results).

Mini-batch epochs read rows in random order, so every row is a cache miss that the hardware
prefetcher cannot predict; issuing the loads of rows a few positions ahead in the epoch's
order keeps more of them in flight (measured 1.4-2x on a shuffled pass over 1M x 50).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

LOCALITY = 2
"""``llvm.prefetch``'s locality hint: 2 (x86 ``prefetcht1``) fills L2 but not L1. The row is
read a few rows later, from L2; filling L1 instead (3, ``prefetcht0``) leaves fewer misses in
flight: a shuffled gather of 1M x 50 float64 took ~60 ms with 3 and ~40 ms with 2 or 1 (AMD
EPYC, this project's benchmark machine)."""


def _codegen(context, builder, signature, args):
    array_type, *index_types = signature.args
    view = context.make_array(array_type)(context, builder, args[0])
    indices = [
        context.cast(builder, value, kind, types.intp)
        for value, kind in zip(args[1:], index_types, strict=True)
    ]
    pointer = cgutils.get_item_pointer(
        context, builder, array_type, view, indices, wraparound=False
    )
    byte_pointer = ir.IntType(8).as_pointer()
    function = cgutils.get_or_insert_function(
        builder.module,
        ir.FunctionType(ir.VoidType(), [byte_pointer] + [ir.IntType(32)] * 3),
        "llvm.prefetch.p0i8",
    )
    flags = [ir.Constant(ir.IntType(32), v) for v in (0, LOCALITY, 1)]  # read, into L2, data
    builder.call(function, [builder.bitcast(pointer, byte_pointer), *flags])
    return context.get_dummy_value()


@intrinsic
def prefetch(typingctx, array, row, col):
    """Prefetch the cache line of ``array[row, col]`` (a 2-D array)."""
    if not (isinstance(array, types.Array) and array.ndim == 2):
        return None
    return types.void(array, row, col), _codegen


@intrinsic
def prefetch1(typingctx, array, index):
    """Prefetch the cache line of ``array[index]`` (a 1-D array)."""
    if not (isinstance(array, types.Array) and array.ndim == 1):
        return None
    return types.void(array, index), _codegen
