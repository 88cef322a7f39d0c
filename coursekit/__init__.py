"""coursekit: the small public helper that ships with the student release.

It holds only what every notebook needs and no solution code: loading the course data
(`coursekit.data`), the assertion helpers of the visible checks (`coursekit.testing`),
a progress bar for training loops, the torch device, a plotting style, and the capstone's
toolboxes of course-provided layers (`coursekit.toolbox`: torch autograd inside, not the numpy
solutions of the earlier notebooks).
"""
from .data import DATA_DIR, load_dataset, load_image, train_test_split
from .testing import check_close, check_shape, check_raises, check_plain_data
from .utils import progress, device, seed_everything
from .toolbox import toolbox, register_toolbox, load_functions, load_own_toolbox

__all__ = [
    "DATA_DIR", "load_dataset", "load_image", "train_test_split",
    "check_close", "check_shape", "check_raises", "check_plain_data",
    "progress", "device", "seed_everything",
    "toolbox", "register_toolbox", "load_functions", "load_own_toolbox",
]
