"""What the editor shows of pipeline runs, as plain Python (no bpy): where each node of each pipeline job stands, and
what the sidecar answered to Validate and Run Pipeline for each tree.

Fed on the main thread by the drain timer with the same messages as the panel's state (`PipelineRuns.apply`);
sync.py then writes what changed into the trees' nodes. Node progress is the sidecar's `NodeProgress` by node id
(`{state, total, done, running, failed, skipped, warnings?, message?}`, docs/pipeline.md), from `job.progress`
notifications, `job.list` and, when the job ends, its report's `nodes`.
"""

import collections

from ..messages import MsgCallResult, MsgJobs, MsgJobState, MsgProgress

MAX_JOBS = 30
# A node's states: the sidecar's NodeProgress states, "none" (not run) and "invalid" (refused by Validate).
STATES = (
    ("none", "Not Run", "This node has not run yet"),
    ("waiting", "Waiting", "Nothing of it has started yet"),
    ("running", "Running", "Some of its steps are running or done"),
    ("done", "Done", "Every step done"),
    ("partial", "Partial", "Some steps done, the others skipped because something upstream failed"),
    ("failed", "Failed", "A step failed"),
    ("skipped", "Skipped", "Every step skipped: something upstream failed"),
    ("canceled", "Canceled", "The job was canceled before its steps ran"),
    ("invalid", "Invalid", "The sidecar refused the graph because of this node"),
)
COUNTS = ("total", "done", "running", "failed", "skipped", "warnings")
VALIDATE = "pipeline-validate"
SUBMIT = "submit"  # operators._submit's purpose; the tree's name travels as context["pipeline_tree"]


class TreeEvent(object):
    """Something the sidecar answered for one tree: `job_id` (a run was accepted), or `errors` (a list of the
    sidecar's GraphErrors {field, message, node?, link?}; empty when Validate found nothing), or `error` (one sentence:
    the call itself failed)."""

    __slots__ = ("tree", "kind", "job_id", "errors", "error")

    def __init__(self, tree, kind, job_id="", errors=None, error=""):
        self.tree = tree
        self.kind = kind  # "validated", "submitted" or "refused"
        self.job_id = job_id
        self.errors = errors or []
        self.error = error


class PipelineRuns(object):
    def __init__(self):
        self.nodes = collections.OrderedDict()  # job id -> {node id: NodeProgress}
        self.changed = set()  # job ids whose nodes changed since sync.py last wrote them
        self.events = []  # TreeEvents not yet applied to their trees

    def apply(self, msg):
        """Takes what concerns pipelines from one message; returns True when something changed."""
        if isinstance(msg, MsgProgress):
            return self._nodes(msg.params.get("jobId"), msg.params.get("nodes"))
        if isinstance(msg, MsgJobState):
            result = msg.params.get("result")
            if isinstance(result, dict) and isinstance(result.get("nodes"), list):
                return self._nodes(
                    msg.params.get("jobId"), {n.get("id"): n for n in result["nodes"] if isinstance(n, dict)}
                )
            return False
        if isinstance(msg, MsgJobs):
            changed = False
            for job in msg.jobs:
                if isinstance(job, dict) and job.get("kind") == "pipeline":
                    changed = self._nodes(job.get("id"), (job.get("progress") or {}).get("nodes")) or changed
            return changed
        if isinstance(msg, MsgCallResult):
            return self._answer(msg)
        return False

    def take_events(self):
        events, self.events = self.events, []
        return events

    def take_changed(self):
        changed, self.changed = self.changed, set()
        return changed

    def _nodes(self, job_id, nodes):
        if not job_id or not isinstance(nodes, dict) or not nodes:
            return False
        known = self.nodes.setdefault(job_id, {})
        self.nodes.move_to_end(job_id)
        while len(self.nodes) > MAX_JOBS:
            self.nodes.popitem(last=False)
        for node_id, progress in nodes.items():
            if isinstance(node_id, str) and isinstance(progress, dict):
                known[node_id] = progress
        self.changed.add(job_id)
        return True

    def _answer(self, msg):
        tree = msg.context.get("pipeline_tree")
        purpose = msg.context.get("purpose")
        if not tree or purpose not in (VALIDATE, SUBMIT):
            return False
        if msg.error:
            data = msg.error_data if isinstance(msg.error_data, dict) else {}
            errors = [e for e in data.get("errors") or [] if isinstance(e, dict)]
            self.events.append(TreeEvent(tree, "refused", errors=errors, error=msg.error))
        elif purpose == VALIDATE:
            result = msg.result if isinstance(msg.result, dict) else {}
            errors = [e for e in result.get("errors") or [] if isinstance(e, dict)]
            self.events.append(TreeEvent(tree, "validated", errors=errors))
        else:
            job_id = (msg.result or {}).get("jobId", "")
            self.events.append(TreeEvent(tree, "submitted", job_id=job_id))
            if job_id in self.nodes:
                self.changed.add(job_id)  # progress came before the answer: write it now the tree knows its job
        return True


# -- the one model while the add-on is enabled --------------------------------------------------------------------

_runs = PipelineRuns()


def get():
    return _runs


def reset():
    global _runs
    _runs = PipelineRuns()
    return _runs


def progress_text(progress, state=None):
    """A node's progress in one line: "Failed 4/5, 1 failed, 3 warnings" (NodeProgress, or a node's run)."""
    state = state or progress.get("state") or "none"
    label = next((item[1] for item in STATES if item[0] == state), state.capitalize())
    if state in ("none", "invalid"):
        return label
    count = {name: progress.get(name) or 0 for name in COUNTS}
    parts = ["{} {}/{}".format(label, count["done"], count["total"]) if count["total"] else label]
    if state == "running" and count["running"]:
        parts.append("{} running".format(count["running"]))
    for name in ("failed", "skipped"):
        if count[name]:
            parts.append("{} {}".format(count[name], name))
    if count["warnings"]:
        parts.append("{} warning{}".format(count["warnings"], "" if count["warnings"] == 1 else "s"))
    return ", ".join(parts)
