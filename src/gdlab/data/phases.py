"""Progress lines of the data stages (validate, prepare): one line as each long phase ends
(read, checked and hashed, split, written), with its time, so a million rows are not a minute
of silence. Printed through :func:`gdlab.experiment.progress.say`: ``GDLAB_PROGRESS=off``
silences them, as it does train's and tune's."""

from __future__ import annotations

from gdlab.experiment import progress


class Phases:
    """The phases of one stage: :meth:`done` prints ``<stage>: <what> in 1.2s`` (the time
    since the previous phase ended). ``stage`` None prints nothing (a library call)."""

    def __init__(self, stage: str | None):
        self.stage = stage
        self.start = progress.clock()

    def done(self, what: str) -> None:
        """The phase ``what`` ended: say so with its time; the next phase starts now."""
        now = progress.clock()
        if self.stage is not None:
            progress.say(f"{self.stage}: {what} in {progress.seconds(now - self.start)}")
        self.start = now
