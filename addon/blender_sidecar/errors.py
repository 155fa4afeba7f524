"""The one error type of the add-on's own expected failures.

Its message is one sentence an artist can act on; operators turn it into `self.report({'ERROR'}, str(err))` and
return {'CANCELLED'}. Anything else that escapes is a bug and keeps its traceback.
"""


class SidecarError(Exception):
    """An expected failure, described in one sentence that says what is wrong and what to do."""
