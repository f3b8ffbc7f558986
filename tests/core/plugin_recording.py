"""A plug-in model used by the tests: the linear model, recording the rows of every forward
pass (their first column, which the tests fill with the row numbers) in ``log``."""

from gdlab.core.models import LinearModel


class RecordingLinear(LinearModel):
    def __init__(self, log: list):
        self.log = log

    def forward(self, params, X):
        self.log.append(X[:, 0].copy())
        return super().forward(params, X)


def recording_linear(log: list) -> RecordingLinear:
    return RecordingLinear(log)
