"""Run one exercise of a submission in a fresh Python process, for ``segbook-grade`` (:mod:`segbook.book.grade`).

:func:`run_exercise` writes a job file (the cell, the imports it needs, which check to run) and starts
``python -c "...run_job(job)"`` in a temporary folder, in its own process group. The child imports the book's check,
runs the imports and the cell, then the check on what the cell defined, and writes its verdict to a result file.
The parent reads the child's output through a pipe keeping only its first and last kilobytes (so an output flood
costs no memory), stops the child at the time limit, and turns a child that died without a verdict (``os._exit``,
a segfault) into an ``error``.

This is no sandbox: the student's code runs with your user's rights. See :mod:`segbook.book.grade`.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from segbook.exercises.registry import Exercise

__all__ = ["Result", "run_exercise", "run_job", "OUTPUT_LIMIT", "STARTUP_LIMIT"]

OUTPUT_LIMIT = 2000  # bytes of a child's output kept from its start and from its end
STARTUP_LIMIT = 120.0  # seconds Python may take to start and import torch before the exercise's clock starts
_CHILD = "import sys; from segbook.book.grade_runner import run_job; run_job(sys.argv[1])"


@dataclass
class Result:
    """How one exercise of one submission went: a status from :data:`STATUSES`, the message, the output's ends."""

    status: str
    message: str = ""
    output: str = ""


def run_job(job_file: str) -> None:
    """The child process's side of :func:`run_exercise`: run one cell, then the book's check, report as JSON.

    The check is imported before the student's code runs; the report goes to a file named in the job, so the
    student's output cannot be mistaken for it.
    """
    import contextlib
    import importlib
    import io

    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    report_path = Path(job["result"])

    def report(status: str, message: str) -> None:
        report_path.write_text(json.dumps({"status": status, "message": message}), encoding="utf-8")

    def last_lines(text: str, n: int = 12) -> str:
        return "\n".join(text.rstrip().splitlines()[-n:])

    check = getattr(importlib.import_module(job["module"]), job["check"])
    error_type = importlib.import_module("segbook.exercises").ExerciseError
    scope: dict = {"__name__": "__main__"}
    for statement in job["imports"]:
        with contextlib.suppress(Exception):  # a library this machine lacks: the cell reports its NameError
            exec(statement, scope)
    Path(job["started"]).touch()  # the exercise's time limit starts now
    try:
        exec(compile(job["source"], "<exercise cell>", "exec"), scope)
    except BaseException:
        return report("error", "the exercise cell raised an exception:\n" + last_lines(traceback.format_exc()))
    if job["name"] not in scope:
        return report("error", f"the exercise cell does not define `{job['name']}`")

    real_stdout = sys.stdout

    class Verdict(io.TextIOBase):  # passes the output on, remembering the check's own last line
        last = ""

        def write(self, text: str) -> int:
            lines = [line for line in text.splitlines() if line.startswith(f"Exercise {job['id']}")]
            self.last = lines[-1] if lines else self.last
            return real_stdout.write(text)

    verdict = Verdict()
    try:
        with contextlib.redirect_stdout(verdict):
            ok = check(scope[job["name"]])
    except error_type as exc:
        return report("failed", str(exc))
    except BaseException:
        return report("error", "the check stopped with an exception:\n" + last_lines(traceback.format_exc()))
    report("passed" if ok is True else "not attempted", verdict.last)


class _Capture(threading.Thread):
    """Reads a pipe to its end, keeping only its first and last :data:`OUTPUT_LIMIT` bytes."""

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self.stream, self.head, self.total = stream, b"", 0
        self.tail: collections.deque[bytes] = collections.deque()

    def run(self) -> None:
        kept = 0
        while chunk := self.stream.read1(65536):
            self.total += len(chunk)
            room = OUTPUT_LIMIT - len(self.head)
            if room > 0:
                self.head, chunk = self.head + chunk[:room], chunk[room:]
            self.tail.append(chunk)
            kept += len(chunk)
            while self.tail and kept - len(self.tail[0]) >= OUTPUT_LIMIT:
                kept -= len(self.tail.popleft())

    def text(self) -> str:
        tail = b"".join(self.tail)[-OUTPUT_LIMIT:]
        cut = self.total - len(self.head) - len(tail)
        middle = f"\n[... {cut} bytes of output cut ...]\n" if cut > 0 else ""
        return (self.head.decode(errors="replace") + middle + tail.decode(errors="replace")).strip()


def _stop(proc: subprocess.Popen) -> None:
    """Kill the child and anything it started (its own process group on POSIX)."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def run_exercise(source: str, exercise: Exercise, imports: Sequence[str] = (), timeout: float = 60.0) -> Result:
    """Run one exercise cell and the book's check on it in a fresh Python process.

    Args:
        source: the exercise cell's source, as the student left it.
        exercise: which exercise it is (its name and its check).
        imports: import statements to run first (see :func:`needed_imports`).
        timeout: seconds the cell and the check may take (Python's start-up is not counted).

    Returns:
        A :class:`Result`; a process that dies before reporting gives ``error`` with its exit code or signal.
    """
    with tempfile.TemporaryDirectory(prefix="segbook-grade-") as tmp:
        work = Path(tmp)
        job = {"source": source, "imports": list(imports), "id": exercise.id, "name": exercise.name}
        job |= {"module": exercise.module, "check": exercise.check}
        job |= {"result": str(work / "result.json"), "started": str(work / "started")}
        (work / "job.json").write_text(json.dumps(job), encoding="utf-8")
        src = str(Path(__file__).resolve().parents[2])  # the segbook this process runs, for the child too
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
        env |= {"MPLBACKEND": "Agg", "PYTHONIOENCODING": "utf-8"}
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(work / "job.json")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=work,
            env=env,
            start_new_session=os.name == "posix",
        )
        capture = _Capture(proc.stdout)
        capture.start()
        begin, started, timed_out = time.monotonic(), None, False
        while proc.poll() is None:
            now = time.monotonic()
            if started is None and (work / "started").exists():
                started = now
            if (started is not None and now - started > timeout) or now - begin > timeout + STARTUP_LIMIT:
                _stop(proc)
                timed_out = True
                break
            time.sleep(0.05)
        _stop(proc)  # children it left behind
        capture.join(5)
        output = capture.text()
        if timed_out:
            return Result("timed out", f"stopped after the time limit of {timeout:g} s", output)
        if (work / "result.json").exists():
            found = json.loads((work / "result.json").read_text(encoding="utf-8"))
            return Result(found["status"], found["message"], output if found["status"] == "error" else "")
        code = proc.returncode
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        return Result("error", f"the process died ({how}) before the check finished: a crash or an exit", output)
