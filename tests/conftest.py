"""Suite-wide settings, applied before any test module imports scipy or scikit-learn."""

import os

# scikit-learn's estimator checks include the array-API dispatch check, which runs only when
# scipy's array-API mode is on (it must be set before scipy is imported).
os.environ.setdefault("SCIPY_ARRAY_API", "1")
# Matplotlib must never try to open a window.
os.environ.setdefault("MPLBACKEND", "Agg")
