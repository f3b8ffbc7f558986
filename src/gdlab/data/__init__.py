"""gdlab.data: sources (synthetic, scikit-learn's bundled sets, CSV/Parquet), checks, the
seeded split, the prepared-data files and the model pipeline's preprocessing.

    meta = prepare_dataset(params, "data/prepared")   # pipeline/prepare.py
    data = load_prepared("data/prepared")             # Prepared: X_train, y_train, ...
    make_preprocessor(params)                         # imputer / polynomial / scaler
"""

from gdlab.data.build import check_data, check_dataset, prepare_dataset
from gdlab.data.checks import CheckedData, check_table
from gdlab.data.errors import DataError
from gdlab.data.prepared import Prepared, dataset_digest, load_prepared, write_prepared
from gdlab.data.preprocessing import build_preprocessor, make_preprocessor
from gdlab.data.sources import (
    RAW_DIR,
    check_source_available,
    load_source,
    untracked_source,
    unversioned_source,
)
from gdlab.data.split import full_batch_warning, split_indices
from gdlab.data.table import RawTable

__all__ = [
    "CheckedData",
    "DataError",
    "Prepared",
    "RAW_DIR",
    "RawTable",
    "build_preprocessor",
    "check_data",
    "check_dataset",
    "check_source_available",
    "check_table",
    "dataset_digest",
    "full_batch_warning",
    "load_prepared",
    "load_source",
    "make_preprocessor",
    "prepare_dataset",
    "split_indices",
    "untracked_source",
    "unversioned_source",
    "write_prepared",
]
