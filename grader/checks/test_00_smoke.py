import numpy as np
from grader.harness import part, expect_close

@part("double")
def test_double(student, ref, rng):
    """double matches the reference"""
    x = rng.normal(size=(3, 4))
    expect_close(student.double(x), ref.double(x), "double(x)", "random x", rtol=1e-12, atol=0)

@part("square")
def test_square(student, ref, rng):
    """square matches the reference"""
    x = rng.normal(size=(5,))
    expect_close(student.square(x), ref.square(x), "square(x)", "random x", rtol=1e-12, atol=0)
