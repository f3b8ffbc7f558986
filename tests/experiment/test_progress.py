"""Progress lines: durations readable at every scale."""

import pytest

from gdlab.experiment.progress import seconds


@pytest.mark.parametrize(("duration", "shown"), [
    (0.0004, "0.0004s"), (0.043, "0.043s"), (0.2, "0.2s"), (1.23, "1.2s"), (75.4, "75s"),
])
def test_a_duration_is_shown_with_its_significant_digits(duration, shown):
    assert seconds(duration) == shown
