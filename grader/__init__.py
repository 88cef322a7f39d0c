"""The course's grader: hidden checks, the sandboxed kernel they call into, nbgrader integration.

Instructors and self-learners use it through `python -m grader`; students never receive it.
"""
