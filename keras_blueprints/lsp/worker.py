"""The warm build worker: a process that keeps TensorFlow loaded and builds blueprints.

A load finds everything but what only a real build finds: shape errors Keras raises
while calling the layers. Importing TensorFlow takes seconds, so the server does
not build itself: it hands each document that loads cleanly to this worker,
started once (``python -m keras_blueprints.lsp.worker``) and kept warm, and
publishes the shape errors it reports, and remembers each node's output shape and
parameter count for hover.

The protocol is one JSON object a line each way. A request is
``{"text", "file", "path"}``; the answer is ``{"problems": [[file, line, col,
message, severity], ...], "nodes": {name: [output shape, parameters]}}``. The
worker loads the text with the same safe loader as the server (nothing in a
blueprint is executed), builds it without compiling, and clears the Keras session.

On the server's side, :class:`BuildWorker` keeps at most one build running and,
per document, only the newest request waiting: an edit that arrives while an older
version waits cancels that build, and the result of a build that became stale
while it ran is dropped. A worker that crashes or takes longer than
:data:`BUILD_TIMEOUT_S` is killed and started again on the next request; the
server carries on without it meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["BUILD_TIMEOUT_S", "BuildResult", "BuildWorker", "main"]

logger = logging.getLogger(__name__)

BUILD_TIMEOUT_S = 120.0
"""Longest a build may take before the worker is killed (and restarted on the next one)."""

MAX_LINE = 64 * 1024 * 1024
"""Longest answer line read from the worker."""


@dataclass(frozen=True)
class BuildResult:
    """What a build found.

    Attributes:
        problems: ``(file, line, col, message, severity)`` for each shape error.
        nodes: Node name -> (its output shape, its parameter count).
    """

    problems: tuple[tuple[str, int, int, str, str], ...]
    nodes: dict[str, tuple[str, int]]


def _build(request: dict[str, Any]) -> dict[str, Any]:
    """Loads and builds one request's text; the answer's JSON data."""
    from pathlib import Path

    from keras_blueprints._core.errors import KerasBlueprintsError
    from keras_blueprints.lsp.analysis import analyze, problems_of

    path = Path(request["path"]) if request.get("path") else None
    analysis = analyze(request["text"], request["file"], path)
    bp = analysis.blueprint
    if bp is None:
        return {"problems": [], "nodes": {}}  # the server shows the load's own errors
    import keras

    from keras_blueprints.builders.model import build_model

    problems: list[list[Any]] = []
    nodes: dict[str, list[Any]] = {}
    try:
        model = build_model(bp, compile=False)
        for layer in model.layers:
            shape = getattr(layer, "output", None)
            shape = getattr(shape, "shape", None)
            nodes[layer.name] = [str(tuple(shape)) if shape is not None else "?", _params(layer)]
    except KerasBlueprintsError as err:
        for problem in problems_of(err):
            loc = problem.location
            problems.append([loc.file, loc.line, loc.col, problem.message, problem.severity])
    finally:
        keras.backend.clear_session(free_memory=False)
    return {"problems": problems, "nodes": nodes}


def _params(layer: Any) -> int:
    try:
        return int(layer.count_params())
    except ValueError:  # a layer that was never built
        return 0


def _import_entries(argv: list[str]) -> list[str]:
    """The ``--import ENTRY`` pairs of the worker's command line, in order."""
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--import"]


def main() -> None:
    """Serves build requests on standard input until it closes (the worker's own process).

    The modules the server was given with ``--import`` come on the command line: the
    worker imports them too, so a user's registered layers build here as well.
    """
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything a library prints goes to the log, not into the protocol
    from keras_blueprints.cli import import_keras_quietly, quiet_tensorflow

    quiet_tensorflow()
    import_keras_quietly()
    from keras_blueprints.cli import import_modules

    try:
        import_modules(_import_entries(sys.argv[1:]))
    except Exception:  # the server imported them already; a failure here is logged
        logger.exception("the build worker could not import the --import modules")
    for line in sys.stdin:
        try:
            answer = _build(json.loads(line))
        except Exception as exc:  # a bug: answered, never fatal to the worker
            logger.exception("internal error in the build worker")
            answer = {"problems": [], "nodes": {}, "internal": f"{type(exc).__name__}: {exc}"}
        protocol.write(json.dumps(answer) + "\n")
        protocol.flush()


class BuildWorker:
    """The server's handle on the worker process: one build at a time, newest first.

    Attributes:
        command: How the worker is started.
    """

    def __init__(self, command: list[str] | None = None, imports: Sequence[str] = ()) -> None:
        """Prepares the worker's command; the process starts on the first build.

        Args:
            command: How to start the worker (default: this interpreter, the worker module).
            imports: The server's ``--import`` modules (as a run records them), which the
                worker imports too.
        """
        base = command or [sys.executable, "-m", "keras_blueprints.lsp.worker"]
        self.command = [*base, *(a for entry in imports for a in ("--import", entry))]
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._waiting: dict[str, int] = {}

    async def _start(self) -> asyncio.subprocess.Process:
        if self._process is None or self._process.returncode is not None:
            env = dict(os.environ)
            env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            self._process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=env,
                limit=MAX_LINE,
            )
        return self._process

    def cancel(self, key: str) -> None:
        """Cancels the build of ``key`` that waits (a newer version of it came)."""
        self._waiting.pop(key, None)

    def kill(self) -> None:
        """Stops the worker (the next build starts a new one)."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()

    async def build(
        self, key: str, ticket: int, text: str, file: str, path: str | None
    ) -> BuildResult | None:
        """Builds one version of a document, unless a newer one asks first.

        Args:
            key: The document (its URI).
            ticket: A number that grows with each request for the document.
            text: Its text.
            file: Its display name.
            path: Its file system path, or None.

        Returns:
            The result, or None when a newer request for the document came first,
            or the worker crashed or took too long.
        """
        self._waiting[key] = ticket
        async with self._lock:
            if self._waiting.get(key) != ticket:
                return None  # cancelled: a newer version waits
            try:
                process = await self._start()
                request = {"text": text, "file": file, "path": path}
                if process.stdin is None or process.stdout is None:
                    raise OSError("the build worker has no pipes")
                process.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
                await process.stdin.drain()
                line = await asyncio.wait_for(process.stdout.readline(), BUILD_TIMEOUT_S)
            except (OSError, asyncio.TimeoutError, ValueError):
                logger.exception("the build worker failed; it starts again on the next build")
                self.kill()
                return None
            if not line:  # it died
                self.kill()
                return None
            answer = json.loads(line)
            if answer.get("internal"):
                logger.error("build worker: internal error: %s", answer["internal"])
            return BuildResult(
                tuple(tuple(p) for p in answer["problems"]),  # type: ignore[misc]
                {name: (shape, count) for name, (shape, count) in answer["nodes"].items()},
            )


if __name__ == "__main__":  # pragma: no cover - the worker's own process
    main()
