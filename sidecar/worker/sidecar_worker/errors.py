"""Errors a task can end with. `TaskInputError` is the user's to fix (a scene or camera that does not exist): it is
reported as one sentence without a traceback. Anything else is a Python error, reported with its traceback."""


class TaskInputError(Exception):
    pass
