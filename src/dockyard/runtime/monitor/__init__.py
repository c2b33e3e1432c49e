"""A ``monitoring`` job's process: ``python -m dockyard.runtime.monitor JOB_DIR``.

The runner starts it (as it starts a transform) with the job's spec
(:class:`~dockyard.api.monitoring.MonitoringJobSpec`) in its folder. It reads everything through
the artifact store by URI (capture hours, ground truth, the baseline; local or S3, no shared
disk), calls the core (:mod:`dockyard.monitor`), and writes its outputs to the spec's output
URI: ``statistics.json``, ``constraint_violations.json``, ``drift.json``, ``report.html``,
``model_quality.json`` when ground truth was joined, and ``summary.json``, which the server
reads when the job has ended. A baseline job writes ``statistics.json`` and
``constraints.json`` there instead.

Layout::

    _files.py     URIs to files: listing prefixes through the store, downloading, uploading
    _quality.py   captured predictions joined with ground truth; thresholds as violations
    _main.py      the process: check a window, or suggest a baseline
"""

from __future__ import annotations

__all__: list[str] = []
