"""What the Sidecar panel shows: the connection, jobs, workers and alerts, as plain Python (no bpy).

Only Blender's main thread reads or changes it: the drain timer applies each message from the connection
(`SidecarState.apply`), operators add what they submitted, panels draw it. `revision` goes up on every change, so
the timer knows when to redraw.
"""

import collections
import os
import time

from .messages import MsgAlert, MsgCallResult, MsgConnection, MsgInfo, MsgJobs, MsgJobState, MsgProgress, MsgWorkers

MAX_JOBS = 30
MAX_ALERTS = 50
LEVELS = ("INFO", "WARN", "ERROR")
ACTIVE_STATES = ("submitting", "queued", "running")
ENDED_STATES = ("completed", "failed", "canceled")


class JobView(object):
    """One job as the panel shows it."""

    __slots__ = (
        "id",
        "kind",
        "state",
        "label",
        "total",
        "done",
        "skipped",
        "failed",
        "error",
        "output",
        "blend_file",
        "temporary_blend",
        "save_copy_seconds",
        "created",
        "result",
        "rate",
        "eta",
        "running",
        "local",
        "last_frame",
        "last_frame_path",
        "last_preview",
        "blender",
        "placement",
    )

    def __init__(self, job_id, kind="", label="", state="queued"):
        self.id = job_id
        self.kind = kind
        self.state = state
        self.label = label
        self.total = self.done = self.skipped = self.failed = 0
        self.error = ""
        self.output = ""  # the output file, folder or frame pattern
        self.blend_file = ""
        self.temporary_blend = False
        self.save_copy_seconds = None
        self.created = time.time()
        self.result = None
        self.rate = 0.0
        self.eta = None
        self.running = []
        self.local = False  # submitted from this Blender
        # Render jobs: the newest frame that landed, its file and its small PNG preview (None / "" until one has).
        self.last_frame = None
        self.last_frame_path = ""
        self.last_preview = ""
        self.blender = ""  # the version of the Blender that runs the job, as the sidecar chose it
        self.placement = ""  # why the job has fewer workers (memory, a dear scene sync), while it does

    @property
    def active(self):
        return self.state in ACTIVE_STATES

    @property
    def progress(self):
        """Finished share of the work, 0 to 1."""
        if self.state == "completed":
            return 1.0
        if not self.total:
            return 0.0
        return min(1.0, (self.done + self.skipped + self.failed) / float(self.total))

    @property
    def output_folder(self):
        """The folder the output went to ("" when unknown)."""
        path = self.output
        if not path:
            return ""
        if path.endswith(("/", os.sep)) or os.path.isdir(path):
            return path.rstrip("/" + os.sep) or path
        return os.path.dirname(path)

    def short_text(self):
        """A few characters for the Jobs list: "3/10", "Done", "Failed"."""
        if self.state == "running" and self.total:
            return "{}/{}".format(self.done + self.skipped, self.total)
        return {"completed": "Done", "submitting": "Sending"}.get(self.state, self.state.capitalize())

    def progress_text(self):
        if self.state == "submitting":
            return "Submitting"
        text = (
            "{} {}/{}".format(self.state.capitalize(), self.done + self.skipped, self.total)
            if self.total
            else self.state.capitalize()
        )
        if self.failed:
            text += ", {} failed".format(self.failed)
        if self.state == "running" and self.eta:
            text += ", {:.0f} s left".format(self.eta)
        return text


class WorkerView(object):
    __slots__ = ("id", "pid", "state", "cpu", "rss_mb", "label")

    def __init__(self, data):
        self.id = str(data.get("id", "?"))
        self.pid = data.get("pid") or 0
        self.state = str(data.get("state", ""))
        self.cpu = float(data.get("cpuPercent") or 0.0)
        self.rss_mb = float(data.get("rssMB") or 0.0)
        current = data.get("current")
        self.label = data.get("label") or (current.get("label") if isinstance(current, dict) else "") or ""


class Alert(object):
    __slots__ = ("level", "text", "time", "key")

    def __init__(self, level, text, key=""):
        self.level = level if level in LEVELS else "INFO"
        self.text = text
        self.time = time.time()
        self.key = key


class Stall(object):
    """The longest, last and total time one operator (or the drain) held Blender's main thread."""

    __slots__ = ("count", "longest", "last", "total")

    def __init__(self):
        self.count = 0
        self.longest = self.last = self.total = 0.0

    def add(self, seconds):
        self.count += 1
        self.last = seconds
        self.total += seconds
        self.longest = max(self.longest, seconds)


class SidecarState(object):
    """The panel's model. `blender` is this Blender's executable, to notice a sidecar that runs another."""

    def __init__(self, blender=""):
        self.blender = blender
        self.connection = "disconnected"
        self.message = "Not connected."
        self.url = ""
        self.pid = 0
        self.version = ""
        self.blender_version = ""
        self.blender_path = ""
        self.export_formats = []  # [{"format", "label", "extensions", "options"}] from sidecar.info
        self.bake_types = []  # ["normal", "ao", ...] from sidecar.info
        self.simulation_bake = False  # whether the sidecar's Blender bakes simulations (4.1+), from sidecar.info
        self.pool_size = 0
        self.jobs = collections.OrderedDict()  # newest first
        self.workers = []
        self.alerts = collections.deque(maxlen=MAX_ALERTS)  # newest first
        self.stalls = collections.OrderedDict()  # name -> Stall
        self.revision = 0
        self._pending = 0

    @property
    def connected(self):
        return self.connection == "connected"

    # -- what operators add ----------------------------------------------------------------------------------------

    def alert(self, level, text):
        self.alerts.appendleft(Alert(level, text))
        self.revision += 1

    def clear_alerts(self):
        self.alerts.clear()
        self.revision += 1

    def add_submission(self, kind, label, output, blend_file, temporary_blend, save_copy_seconds):
        """A job being submitted (no id yet); returns its placeholder id, replaced when the sidecar answers."""
        self._pending += 1
        job = JobView("submitting-{}".format(self._pending), kind, label, "submitting")
        job.output, job.blend_file, job.temporary_blend = output, blend_file, temporary_blend
        job.save_copy_seconds, job.local = save_copy_seconds, True
        self._put_first(job)
        self.revision += 1
        return job.id

    def record_stall(self, name, seconds):
        self.stalls.setdefault(name, Stall()).add(seconds)

    # -- messages from the connection --------------------------------------------------------------------------

    def apply(self, msg):
        """Applies one message; returns True when what the panel shows changed."""
        handler = _HANDLERS.get(type(msg))
        if handler is None or handler(self, msg) is False:
            return False
        self.revision += 1
        return True

    def _connection(self, msg):
        self.connection = msg.state
        self.message = msg.message
        if msg.url:
            self.url = msg.url
        if msg.pid:
            self.pid = msg.pid
        if msg.state in ("disconnected", "failed"):
            self.workers = []
            for job in list(self.jobs.values()):
                if job.state == "submitting":
                    del self.jobs[job.id]
        if msg.alert:
            self.alerts.appendleft(Alert(msg.alert, msg.message))

    def _info(self, msg):
        info = msg.info or {}
        self.version = str(info.get("version", ""))
        self.pid = info.get("pid") or self.pid
        blender = info.get("blender") or {}
        self.blender_path = blender.get("path") or ""
        self.blender_version = blender.get("version") or ""
        self.export_formats = list(info.get("exportFormats") or [])
        self.bake_types = list(info.get("bakeTypes") or [])
        self.simulation_bake = bool(info.get("simulationBake"))
        self.pool_size = (info.get("pool") or {}).get("instances") or 0
        if not blender.get("found"):
            self.alert(
                "ERROR", "The sidecar finds no Blender to run: {}".format(blender.get("problem") or "see its log.")
            )
        elif self.blender and self.blender_path and not _same_file(self.blender, self.blender_path):
            self.alert(
                "WARN",
                "The running sidecar renders with {} (Blender {}), not this Blender ({}): stop it and start it again "
                "from here to use this one.".format(self.blender_path, self.blender_version, self.blender),
            )

    def _jobs(self, msg):
        for data in reversed(msg.jobs):  # oldest first, so the newest ends on top
            job = self._job(data.get("id"), data.get("kind"))
            if job is None:
                continue
            _set_state(job, data)
            _set_progress(job, data.get("progress") or {})
            if data.get("output") and not job.output:
                job.output = data["output"]
            if data.get("blendFile") and not job.blend_file:
                job.blend_file = data["blendFile"]
            if not job.label:
                job.label = _foreign_label(job)
            if data.get("saveCopySeconds") is not None and job.save_copy_seconds is None:
                job.save_copy_seconds = data["saveCopySeconds"]
            _set_output_from_result(job)

    def _job_state(self, msg):
        p = msg.params
        job = self._job(p.get("jobId"), p.get("kind"))
        if job is None:
            return False
        previous = job.state
        _set_state(job, p)
        _set_output_from_result(job)
        if job.state != previous and job.state in ENDED_STATES:
            self.alerts.appendleft(_ended_alert(job))

    def _progress(self, msg):
        p = msg.params
        job = self._job(p.get("jobId"), p.get("kind"))
        if job is None:
            return False
        _set_progress(job, p)
        # Only job.state ends a job (and alerts once); progress may say "completed" a moment earlier.
        if p.get("state") in ("queued", "running") and job.state not in ENDED_STATES:
            job.state = p["state"]
        last = p.get("last") or {}
        if last.get("output") and job.kind == "render" and not job.output:
            job.output = last["output"]
        if job.kind == "render" and last.get("preview"):
            # Only frames carry a preview (the movie that may end a job does not): the thumbnail stays a frame.
            job.last_frame, job.last_frame_path, job.last_preview = (
                last.get("key"),
                last.get("output") or "",
                last["preview"],
            )

    def _workers(self, msg):
        self.workers = [WorkerView(w) for w in msg.workers if isinstance(w, dict)]
        if msg.size is not None:
            self.pool_size = msg.size

    def _alert(self, msg):
        if msg.key:
            kept = [a for a in self.alerts if a.key != msg.key]
            if len(kept) != len(self.alerts):
                self.alerts = collections.deque(kept, maxlen=MAX_ALERTS)
            if msg.resolved:
                return
        self.alerts.appendleft(Alert(msg.level, msg.text, msg.key))

    def _call_result(self, msg):
        purpose = msg.context.get("purpose")
        if purpose == "submit":
            return self._submitted(msg)
        if msg.error:
            self.alerts.appendleft(Alert("ERROR", msg.error))
            return None
        if purpose == "cancel" and isinstance(msg.result, dict):
            job = self.jobs.get(msg.result.get("id"))
            if job is not None:
                _set_state(job, msg.result)
                _set_progress(job, msg.result.get("progress") or {})
        return None

    def _submitted(self, msg):
        placeholder = self.jobs.pop(msg.context.get("placeholder"), None)
        if msg.error:
            self.alerts.appendleft(Alert("ERROR", msg.error))
            return None
        job_id = (msg.result or {}).get("jobId")
        if not job_id:
            return None
        # job.state "queued" may have come before this answer: keep what it said, add what only we know.
        job = self.jobs.get(job_id)
        if job is None:
            job = JobView(job_id, placeholder.kind if placeholder else "", state="queued")
        if placeholder is not None:
            for name in (
                "kind",
                "label",
                "output",
                "blend_file",
                "temporary_blend",
                "save_copy_seconds",
                "local",
                "created",
            ):
                setattr(job, name, getattr(placeholder, name))
        self.jobs.pop(job_id, None)
        self._put_first(job)
        return None

    # -- helpers -------------------------------------------------------------------------------------------------

    def _job(self, job_id, kind):
        if not job_id:
            return None
        job = self.jobs.get(job_id)
        if job is None:
            job = JobView(job_id, kind or "")
            self._put_first(job)
        elif kind and not job.kind:
            job.kind = kind
        return job

    def _put_first(self, job):
        self.jobs[job.id] = job
        self.jobs.move_to_end(job.id, last=False)
        while len(self.jobs) > MAX_JOBS:
            oldest = next((j for j in reversed(self.jobs.values()) if not j.active), None)
            if oldest is None:
                break
            del self.jobs[oldest.id]


_HANDLERS = {
    MsgConnection: SidecarState._connection,
    MsgInfo: SidecarState._info,
    MsgJobs: SidecarState._jobs,
    MsgJobState: SidecarState._job_state,
    MsgProgress: SidecarState._progress,
    MsgWorkers: SidecarState._workers,
    MsgAlert: SidecarState._alert,
    MsgCallResult: SidecarState._call_result,
}


def _set_state(job, data):
    if data.get("state"):
        job.state = data["state"]
    if data.get("error"):
        job.error = data["error"]
    if isinstance(data.get("result"), dict):
        job.result = data["result"]
    blender = data.get("blender")
    if isinstance(blender, dict) and blender.get("version"):
        job.blender = str(blender["version"])


def _running_label(r):
    """What a busy worker is on, with the frame's samples once Blender reports them: "Frame 12 (sample 9/16)"."""
    label = str(r.get("label", ""))
    s = r.get("samples")
    if isinstance(s, dict) and isinstance(s.get("done"), int) and isinstance(s.get("total"), int):
        return "{} (sample {}/{})".format(label, s["done"], s["total"])
    return label


def _set_progress(job, p):
    for name, key in (("total", "total"), ("done", "done"), ("skipped", "skipped"), ("failed", "failed")):
        if isinstance(p.get(key), int):
            setattr(job, name, p[key])
    if isinstance(p.get("unitsPerSecond"), (int, float)):
        job.rate = float(p["unitsPerSecond"])
    if "etaSeconds" in p:
        job.eta = p["etaSeconds"]
    if isinstance(p.get("running"), list):
        job.running = [_running_label(r) for r in p["running"] if isinstance(r, dict)]
    job.placement = p["placement"] if isinstance(p.get("placement"), str) else ""


def _set_output_from_result(job):
    result = job.result
    if not isinstance(result, dict) or (job.output and job.local):
        return
    if job.kind == "export":
        outputs = [o.get("output") for o in result.get("outputs") or [] if isinstance(o, dict) and o.get("output")]
        if outputs:
            job.output = outputs[0]
    elif job.kind == "render":
        job.output = result.get("firstOutput") or result.get("outputPattern") or job.output
    elif job.kind in ("bake", "simulation"):
        key = "maps" if job.kind == "bake" else "caches"
        outputs = [o.get("output") or o.get("directory") for o in result.get(key) or [] if isinstance(o, dict)]
        outputs = [o for o in outputs if o]
        if outputs:
            job.output = outputs[0]
    elif job.kind == "pipeline":
        outputs = [o.get("path") for o in result.get("outputs") or [] if isinstance(o, dict) and o.get("path")]
        if outputs:
            job.output = outputs[0]


def _foreign_label(job):
    name = os.path.basename(job.blend_file) if job.blend_file else job.id
    return "{} {}".format(job.kind.capitalize() or "Job", name)


def _ended_alert(job):
    label = job.label or _foreign_label(job)
    if job.state == "completed":
        where = ": {}".format(job.output) if job.output else ""
        if job.failed:
            return Alert("WARN", "{} finished with {} of {} failed{}.".format(label, job.failed, job.total, where))
        return Alert("INFO", "{} finished{}.".format(label, where))
    if job.state == "canceled":
        return Alert("WARN", "{} was canceled.".format(label))
    return Alert("ERROR", "{} failed: {}".format(label, job.error or "no reason given."))


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normpath(a) == os.path.normpath(b)


# -- the one state while the add-on is enabled ----------------------------------------------------------------------

_state = SidecarState()


def get():
    return _state


def reset(blender=""):
    """A fresh state (register)."""
    global _state
    _state = SidecarState(blender)
    return _state
