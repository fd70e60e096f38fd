"""Corpora: public ones loaded by name, and the bundled ones the library generates.

``load_dataset(name, split)`` reads a public corpus from a data directory in the layout
``<name>/<split>.csv[.gz]``, downloading it once from its official source (checksum
verified) where it is absent. ``make_reviews`` and ``make_dates`` generate the bundled
corpora from the library's own templates; see their docstrings.
"""

from bilstm_attn.datasets._download import data_home
from bilstm_attn.datasets._generated import REVIEW_CUES, make_dates, make_reviews
from bilstm_attn.datasets._load import list_datasets, load_dataset

__all__ = [
    "REVIEW_CUES",
    "data_home",
    "list_datasets",
    "load_dataset",
    "make_dates",
    "make_reviews",
]
