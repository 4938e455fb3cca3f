"""Run logging shared by the training loops: TensorBoard scalars and metrics.jsonl.

Both placer-pretrain and placer-train write the same two things under their
output directory: TensorBoard event files in ``logs/`` (via tensorboardX, so
no TensorFlow install is needed) and one JSON record per evaluation in
``metrics.jsonl``. The JSONL file is opened for appending, so a resumed run
continues the same file. Progress and log lines go to stderr (:func:`progress`):
stdout is for a command's result alone.
"""

from __future__ import annotations

import json
import os
import sys


def progress(*parts) -> None:
    """Prints one progress or log line to stderr (never stdout, which carries
    a command's result, e.g. placer-place's JSON), flushed at once."""
    print(*parts, file=sys.stderr, flush=True)


class RunLogger:
    """TensorBoard scalars (tensorboardX) plus a metrics.jsonl file."""

    def __init__(self, out_dir: str):
        from tensorboardX import SummaryWriter

        self.writer = SummaryWriter(os.path.join(out_dir, "logs"))
        # kept open for the run; closed by close()
        self.jsonl = open(  # noqa: SIM115
            os.path.join(out_dir, "metrics.jsonl"), "a", encoding="utf-8")

    def scalars(self, step: int, values: dict, prefix: str) -> None:
        for k, v in values.items():
            self.writer.add_scalar(f"{prefix}/{k}", float(v), step)

    def record(self, step: int, record: dict) -> None:
        self.jsonl.write(json.dumps({"step": step, **record}) + "\n")
        self.jsonl.flush()
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
        self.jsonl.close()
