# The course config with nbgrader's stock autograde pipeline (Execute runs every cell, the student's
# kernel judges its own test cells). Used only by `python -m grader bench` as the baseline to beat;
# never for grades (see README, "Why grades can be trusted").
from nbgrader.converters.autograde import Autograde

load_subconfig("nbgrader_config.py")  # noqa: F821 - provided by traitlets
c = get_config()  # noqa: F821
c.Autograde.sanitize_preprocessors = Autograde.class_traits()["sanitize_preprocessors"].default()
c.Autograde.autograde_preprocessors = Autograde.class_traits()["autograde_preprocessors"].default()
