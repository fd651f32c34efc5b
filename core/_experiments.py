"""The active experiment: which MLflow experiment new traces belong to (``set_experiment``).

The experiment id is written into :class:`~tracewire._trace_manager.InProgressTrace` as its class
default, which every new trace reads: choosing an experiment costs the hot path nothing. Traces
started before a switch are pinned to the experiment they started in.
"""

from __future__ import annotations

from tracewire import _trace_manager
from tracewire._constants import DEFAULT_EXPERIMENT_ID
from tracewire._errors import warn_once
from tracewire._trace_manager import InProgressTrace


class Experiment:
    """The experiment :func:`set_experiment` made active (MLflow's ``Experiment``, reduced).

    Attributes:
        experiment_id: The id traces are labeled with.
        name: The name, or ``None`` when it was chosen by id.
    """

    __slots__ = ("experiment_id", "name")

    def __init__(self, experiment_id: str, name: str | None) -> None:
        self.experiment_id = experiment_id
        self.name = name

    def __repr__(self) -> str:
        return f"<Experiment: experiment_id={self.experiment_id!r}, name={self.name!r}>"


_active: Experiment | None = None


def _activate(experiment: Experiment | None) -> None:
    global _active
    experiment_id = DEFAULT_EXPERIMENT_ID if experiment is None else experiment.experiment_id
    if experiment_id != InProgressTrace.experiment_id:
        _pin_started_traces()
    _active = experiment
    InProgressTrace.experiment_id = experiment_id


def _pin_started_traces() -> None:
    """Keep traces started before the switch in the experiment they started in.

    Their records read the class default when they are exported, so the ones in progress get the
    current id as their own, and the finished ones still queued are exported now.
    """
    from tracewire._export import EXPORTER  # noqa: PLC0415 - import cycle

    current = InProgressTrace.experiment_id
    for trace_id in list(_trace_manager._in_progress):
        record = _trace_manager.find_in_progress(trace_id)  # made now for a detached root
        if record is not None and "experiment_id" not in vars(record):
            record.experiment_id = current
    EXPORTER.flush()


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment active: traces started from now on belong to it.

    By name, the experiment is looked up in the tracking URI's store (a local store's experiments
    table, or the MLflow tracking server) and created when missing. By id, the id is used as given.
    Searches without ``experiment_ids`` look in the active experiment.

    Args:
        experiment_name: The experiment's name.
        experiment_id: The experiment's id (give exactly one of the two).

    Returns:
        The active experiment (``experiment_id`` and ``name``).

    Raises:
        ValueError: Unless exactly one of ``experiment_name`` and ``experiment_id`` is given, or if
            the name is empty.

    Example:
        >>> tracewire.set_experiment("checkout-bot")
        <Experiment: experiment_id='1', name='checkout-bot'>
    """
    if (experiment_name is None) == (experiment_id is None):
        raise ValueError("give exactly one of experiment_name and experiment_id")
    if experiment_id is not None:
        if not str(experiment_id).strip():
            raise ValueError("experiment_id must not be empty")
        experiment = Experiment(str(experiment_id), None)
    else:
        if not isinstance(experiment_name, str) or not experiment_name.strip():
            raise ValueError(f"experiment_name must be a non-empty str, got {experiment_name!r}")
        experiment = Experiment(_resolve(experiment_name), experiment_name)
    _activate(experiment)
    return experiment


def _resolve(name: str) -> str:
    from tracewire._export import EXPORTER  # noqa: PLC0415 - import cycle

    return EXPORTER.destination.experiment_id_for(name, create=True)


def active_experiment() -> Experiment | None:
    """Return the experiment :func:`set_experiment` made active, or ``None``."""
    return _active


def on_tracking_uri_changed() -> None:
    """Look the active experiment's name up again in the new store (ids of two stores differ).

    A failure is logged once and makes the default experiment active, so that switching stores
    never breaks the program.
    """
    experiment = _active
    if experiment is None or experiment.name is None:
        return
    try:
        _activate(Experiment(_resolve(experiment.name), experiment.name))
    except Exception as error:  # noqa: BLE001 - the store may be unreachable or unwritable
        warn_once(
            f"experiment-lookup:{experiment.name}",
            "tracewire could not find or create experiment %r in the new tracking store (%s: %s); "
            "traces go to the default experiment",
            experiment.name,
            type(error).__name__,
            error,
        )
        _activate(None)


def reset_active_experiment() -> None:
    """Forget the active experiment (tests): new traces go to experiment ``"0"`` again."""
    _activate(None)
