"""A plug-in optimiser used by the tests: plain SGD that logs each step's batch size."""

from gdlab.core.optim import GradientTransformation, chain, scale_by_learning_rate


def counting_sgd(log: list) -> GradientTransformation:
    """SGD that appends the number of rows behind each step (read from the loop's buffer)."""

    def init(params):
        return ()

    def update(grads, state, params, learning_rate):
        import inspect

        frame = inspect.currentframe().f_back
        while frame is not None and "Xb" not in frame.f_locals and "problem" not in frame.f_locals:
            frame = frame.f_back
        if frame is not None and "Xb" in frame.f_locals:
            log.append(frame.f_locals["Xb"].shape[0])
        else:
            log.append(frame.f_locals["problem"].X.shape[0])
        return grads, state

    return chain(GradientTransformation(init, update), scale_by_learning_rate())
