"""coursekit: the small public helper that ships with the student release.

It holds only what every notebook needs and no solution code: loading the course data
(`coursekit.data`), the assertion helpers of the visible checks (`coursekit.testing`),
a progress bar for training loops, the torch device, and a plotting style.
"""
from .data import DATA_DIR, load_dataset, load_image, train_test_split
from .testing import check_close, check_shape, check_raises, check_plain_data
from .utils import progress, device, seed_everything

__all__ = [
    "DATA_DIR", "load_dataset", "load_image", "train_test_split",
    "check_close", "check_shape", "check_raises", "check_plain_data",
    "progress", "device", "seed_everything",
]
