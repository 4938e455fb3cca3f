"""Checkpoints: model parameters + JSON metadata (+ training state), with orbax.

A checkpoint directory is an orbax ``CheckpointManager`` directory: one
sub-folder per step, each holding

    params/          the parameter pytree (orbax StandardCheckpointHandler)
    meta/meta.json   JSON: model config, target normalisation stats, ...
    train/           optional: optimizer state and step, for resuming

Arrays are saved as host (numpy) copies and round-trip bit-exactly; a
checkpoint does not depend on the devices that wrote it. Restoring
``params`` needs no target (Flax parameters are nested dicts); restoring
``train`` needs one (optax states are tuples), built from a freshly
initialised state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import jax
import orbax.checkpoint as ocp

from placer.errors import PlacerInputError

META_FILE = "meta.json"


def _manager(directory: str | os.PathLike, max_to_keep: int | None = None,
             create: bool = True) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep, create=create, enable_async_checkpointing=False)
    return ocp.CheckpointManager(
        os.path.abspath(os.fspath(directory)), options=options,
        item_handlers={"params": ocp.StandardCheckpointHandler(),
                       "train": ocp.StandardCheckpointHandler(),
                       "meta": ocp.JsonCheckpointHandler(filename=META_FILE)})


@dataclass
class Checkpoint:
    """One restored checkpoint.

    Attributes:
        step: its step.
        params: the parameter pytree.
        meta: the JSON metadata (a dict).
        train: the training state when asked for, else None.
    """

    step: int
    params: Any
    meta: dict
    train: Any = None


class CheckpointStore:
    """A checkpoint directory, kept open across saves (close it when done).

    Args:
        directory: the folder (created on the first save).
        max_to_keep: keep only the newest this many steps; None keeps all.
    """

    def __init__(self, directory: str | os.PathLike, max_to_keep: int | None = None):
        self.directory = os.path.abspath(os.fspath(directory))
        self._manager = _manager(self.directory, max_to_keep)

    def save(self, step: int, params: Any, meta: dict, train: Any = None) -> None:
        """Saves (and finishes writing) a checkpoint at ``step``, replacing one
        already there."""
        # host copies: the checkpoint then holds no device layout, and one
        # written by a run on several devices (or hosts) restores on one
        params, train = jax.device_get((params, train))
        items = {"params": ocp.args.StandardSave(params),
                 "meta": ocp.args.JsonSave(meta)}
        if train is not None:
            items["train"] = ocp.args.StandardSave(train)
        if step in self._manager.all_steps():
            self._manager.delete(step)
        self._manager.save(step, args=ocp.args.Composite(**items), force=True)
        self._manager.wait_until_finished()

    def latest_step(self) -> int | None:
        """The newest step, or None for an empty (or missing) directory."""
        return self._manager.latest_step()

    def restore(self, step: int | None = None, train_target: Any = None,
                params_target: Any = None) -> Checkpoint:
        """Restores ``step`` (default: the newest).

        Args:
            step: the step to restore; None: the latest.
            params_target: a pytree shaped like the saved parameters; None:
                restore them as saved (nested dicts of arrays).
            train_target: a pytree shaped like the saved training state (for
                instance a freshly initialised one); None: do not restore it.

        Raises:
            PlacerInputError: no checkpoint in the directory, or a step that
                is not there.
        """
        steps = self._manager.all_steps()
        if step is None:
            step = self._manager.latest_step()
        if step is None or step not in steps:
            raise PlacerInputError(
                f"no checkpoint{'' if step is None else f' at step {step}'} here "
                f"(steps: {sorted(steps)})", self.directory)
        items = {"params": ocp.args.StandardRestore(params_target),
                 "meta": ocp.args.JsonRestore()}
        if train_target is not None:
            items["train"] = ocp.args.StandardRestore(train_target)
        out = self._manager.restore(step, args=ocp.args.Composite(**items))
        return Checkpoint(step=int(step), params=out["params"], meta=dict(out["meta"]),
                          train=out["train"] if train_target is not None else None)

    def close(self) -> None:
        self._manager.close()

    def __enter__(self) -> CheckpointStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def save_checkpoint(directory: str | os.PathLike, step: int, params: Any, meta: dict,
                    train: Any = None, max_to_keep: int | None = None) -> None:
    """Saves one checkpoint into ``directory`` (see CheckpointStore.save)."""
    with CheckpointStore(directory, max_to_keep) as store:
        store.save(step, params, meta, train)


def latest_step(directory: str | os.PathLike) -> int | None:
    """The newest step saved in ``directory``; None if there is none."""
    if not os.path.isdir(directory):
        return None
    with CheckpointStore(directory) as store:
        return store.latest_step()


def restore_checkpoint(directory: str | os.PathLike, step: int | None = None,
                       train_target: Any = None) -> Checkpoint:
    """Restores a checkpoint from ``directory`` (see CheckpointStore.restore).

    Raises:
        PlacerInputError: a missing directory or no checkpoint in it.
    """
    if not os.path.isdir(directory):
        raise PlacerInputError("checkpoint directory not found", os.fspath(directory))
    with CheckpointStore(directory) as store:
        return store.restore(step, train_target)
