"""Distributed search on keras-tuner's own engine: one chief, any number of workers.

keras-tuner distributes a search through three environment variables read when a
tuner is constructed: ``KERASTUNER_TUNER_ID`` (``"chief"`` for the process that
serves the oracle over gRPC, any other id for a worker), ``KERASTUNER_ORACLE_IP``
and ``KERASTUNER_ORACLE_PORT``. The chief's ``tuner.search()`` serves the oracle;
each worker's ``tuner.search()`` asks it for trials, trains them and reports back.
:func:`run_chief` and :func:`run_worker` set those variables around a zero-argument
``search`` callable (the command builds the tuner and searches inside it).

**keras-tuner's own** (used as it is):

* the protocol: keras-tuner's ``Oracle`` gRPC service and its servicer on the chief
  (subclassed only to note which worker got which trial), its ``OracleClient`` in
  every worker, and the search loop on both sides (``BaseTuner.search``,
  ``create_trial``/``run_trial``/``end_trial``, ``STOPPED`` ending a worker's loop);
* the oracle: trials, retries, when the search is over. The chief reads its
  public members (``trials``, ``ongoing_trials``, ``tuner_ids``, ``Trial.status``)
  under ``keras_tuner.synchronized``, the lock its own methods take, and fails the
  trial of a lost worker with the public ``end_trial``;
* who is chief or worker: the ``KERASTUNER_*`` variables above (:func:`is_worker`
  tells a worker's tuner by its oracle, which keras-tuner swapped for a client).

**Ours**, for what keras-tuner 1.4 leaves to its users:

* **The chief returns.** keras-tuner's server polls every 20 s and returns only
  once every worker it ever saw has been told to stop, so a worker that crashed
  keeps the chief up forever. :class:`ChiefSearch`, mixed into the tuner class
  (``Tuner.search`` is a public hook; ``make_tuner``'s tuners have it), serves
  instead with :class:`_ChiefServer`: it returns as soon as every trial is finished
  and every live worker has been told so, waits at most ``grace`` seconds for
  workers that never come back, records the trial of a worker whose heartbeat went
  silent as failed, gives up after ``timeout`` seconds if one is set, and writes
  ``distributed.json`` in the tuner's directory (which worker ran which trial, how
  the chief ended). A tuner without the mixin still works under :func:`run_chief`,
  served by keras-tuner's own server, without any of this.
* **A heartbeat**: one gRPC method of ours beside keras-tuner's service on the
  chief's port. Its answer also tells a worker that the chief told it the search
  is over, from when on the chief may leave at any moment.
* **Workers leave when the chief is gone.** keras-tuner's client waits up to an
  hour for an unreachable chief. A worker here first checks that the chief
  answers (``connect_timeout``), then a heartbeat thread watches it during the
  search: when it stops answering, the search is interrupted and the worker exits
  with :data:`EXIT_NO_CHIEF` and one line saying why.
* **Threads are pinned** per process (``threads=``), so two workers on one
  machine do not fight over the same cores.

Where no public hook exists, :mod:`keras_blueprints._compat.keras_tuner` reaches
inside keras-tuner: its servicer class and the registration of its service on our
``grpc.server`` (to serve keras-tuner's protocol from a server that returns), and
the client's call timeout (a module global, an hour by default).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from keras_blueprints._core.errors import COMMAND_LINE, UsageError

__all__ = [
    "EXIT_INCOMPLETE",
    "EXIT_NO_CHIEF",
    "EXIT_OK",
    "RESULTS_FILE",
    "ChiefLost",
    "ChiefSearch",
    "is_worker",
    "parse_address",
    "pin_threads",
    "run_chief",
    "run_worker",
    "trial_workers",
]

EXIT_OK = 0
EXIT_NO_CHIEF = 69  # sysexits' EX_UNAVAILABLE: the chief cannot be reached
EXIT_INCOMPLETE = 75  # sysexits' EX_TEMPFAIL: stopped at the timeout; resume to finish

RESULTS_FILE = "distributed.json"

_HEARTBEAT_METHOD = "/keras_blueprints.distributed.Chief/Beat"
_OVER = b"over"  # the heartbeat's answer once the chief told the worker the search is over
_ENV_KEYS = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
_WORKER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_HOST = re.compile(r"[A-Za-z0-9_.-]+")


class ChiefLost(BaseException):
    """Raised in a worker's main thread when its chief stops answering.

    A ``BaseException`` so that the search's own ``except Exception`` (keras-tuner
    records a trial's exception as a failed trial) lets it through.
    """


# ---------------------------------------------------------------- addresses, environment


def parse_address(address: str) -> tuple[str, int]:
    """Splits a chief address ``HOST:PORT`` (``[IPV6]:PORT`` for IPv6).

    Args:
        address: The address as given on the command line.

    Returns:
        ``(host, port)``; an IPv6 host keeps its brackets so that ``f"{host}:{port}"``
        is a valid gRPC target.

    Raises:
        UsageError: The address has no port, a port outside 1-65535, or an
            empty or malformed host.
    """
    text = str(address).strip()
    host, sep, port_text = text.rpartition(":")
    ipv6 = host.startswith("[") and host.endswith("]") and len(host) > 2
    valid_host = ipv6 or (bool(_HOST.fullmatch(host)) and ":" not in host)
    port = int(port_text) if port_text.isdigit() else -1
    if not sep or not valid_host or not 1 <= port <= 65535:
        raise UsageError(
            f"'{address}' is not a chief address",
            COMMAND_LINE,
            expected="HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:8470 or [::1]:8470",
            received=address,
        )
    return host, port


def _check_worker_id(worker_id: str) -> str:
    text = str(worker_id)
    # keras-tuner treats any tuner id containing "chief" as the chief.
    if not _WORKER_ID.fullmatch(text) or "chief" in text.lower():
        raise UsageError(
            f"'{worker_id}' is not a worker id",
            "--worker",
            expected="letters, digits, '_', '.' or '-', not containing 'chief' (e.g. 1, 2, gpu0)",
            received=worker_id,
        )
    return text


@contextlib.contextmanager
def _environment(tuner_id: str, host: str, port: int) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in _ENV_KEYS}
    os.environ.update(
        KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP=host, KERASTUNER_ORACLE_PORT=str(port)
    )
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def pin_threads(threads: int) -> None:
    """Pins TensorFlow's intra-op and inter-op thread pools of this process.

    Sets ``TF_NUM_INTRAOP_THREADS``, ``TF_NUM_INTEROP_THREADS`` and
    ``OMP_NUM_THREADS``, and the ``tf.config.threading`` settings when TensorFlow
    is already imported. Both only take effect before TensorFlow creates its
    runtime (the first op, or ``tf.config.list_logical_devices()``): call this
    before anything runs TensorFlow.

    Args:
        threads: Threads per pool, a positive integer.

    Raises:
        UsageError: ``threads`` is not a positive integer.
        RuntimeError: TensorFlow's runtime already started with other settings.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise UsageError(
            "the number of TensorFlow threads must be a positive integer",
            "--threads",
            received=threads,
        )
    keys = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
    already = all(os.environ.get(key) == str(threads) for key in keys)
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError as exc:  # the runtime started: only the environment could have worked
            if not already:
                raise RuntimeError(
                    f"Cannot pin TensorFlow to {threads} thread(s): its runtime already started. "
                    "Call pin_threads() before TensorFlow runs anything."
                ) from exc
    for key in (*keys, "OMP_NUM_THREADS"):
        os.environ[key] = str(threads)


# ---------------------------------------------------------------- chief


def run_chief(
    address: str,
    search: Callable[[], Any],
    *,
    timeout: float | None = None,
    grace: float = 10.0,
    worker_timeout: float = 30.0,
    threads: int | None = None,
    poll: float = 0.2,
) -> int:
    """Runs ``search`` as the chief: serves the oracle at ``address`` until the search ends.

    Args:
        address: ``HOST:PORT`` to listen on (``0.0.0.0:PORT`` for every interface).
        search: Constructs the keras-tuner tuner and calls its ``search``; with
            ``KERASTUNER_TUNER_ID=chief`` that call serves the oracle.
        timeout: Seconds to serve at most; then the chief stops (unfinished trials
            stay unfinished, a resumed search runs them) and returns
            :data:`EXIT_INCOMPLETE`. ``None``: no limit.
        grace: Once every trial is finished, seconds to wait for workers that
            have not yet asked for a trial (and been told the search is over).
        worker_timeout: A worker whose heartbeat is silent this long is gone:
            its running trial is recorded as failed and the search goes on.
        threads: Pin TensorFlow to this many threads (see :func:`pin_threads`).
        poll: Seconds between two looks at the oracle.

    Returns:
        :data:`EXIT_OK` when the search finished, :data:`EXIT_INCOMPLETE` at the timeout.

    Raises:
        UsageError: A malformed address, or one the chief cannot listen on.
    """
    global _serving
    host, port = parse_address(address)
    if threads is not None:
        pin_threads(threads)
    server = _ChiefServer(
        f"{host}:{port}", timeout=timeout, grace=grace, worker_timeout=worker_timeout, poll=poll
    )
    _serving = server
    try:
        with _environment("chief", host, port):
            search()
    finally:
        _serving = None
    return server.status


_serving: _ChiefServer | None = None
"""The server of the :func:`run_chief` in progress, which :class:`ChiefSearch` serves with."""


class ChiefSearch:
    """Mixed into a keras-tuner tuner class (first): its chief serves as :func:`run_chief` says.

    On the chief, keras-tuner's ``BaseTuner.search`` saves the tuner and serves the
    oracle with its own gRPC server, which only returns once every worker it saw has
    been told to stop. Inside :func:`run_chief`, this ``search`` does the same with the
    chief's server instead (see the module docstring); anywhere else, in a worker or a
    local search, it is keras-tuner's own ``search``. A tuner without this mixin still
    works under :func:`run_chief`, served by keras-tuner's own server.
    """

    def search(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        """Serves the oracle inside :func:`run_chief`; keras-tuner's ``search`` elsewhere."""
        server = _serving
        if server is None:
            return super().search(*fit_args, **fit_kwargs)  # type: ignore[misc]
        if "verbose" in fit_kwargs:  # as keras-tuner's chief does
            self.oracle.verbose = fit_kwargs["verbose"]  # type: ignore[attr-defined]
        self.save()  # type: ignore[attr-defined]
        server.serve(self.oracle, self.directory)  # type: ignore[attr-defined]
        return None


class _ChiefServer:
    """Serves an oracle over gRPC and decides when the search is over."""

    def __init__(
        self,
        target: str,
        *,
        timeout: float | None,
        grace: float,
        worker_timeout: float,
        poll: float,
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.grace = grace
        self.worker_timeout = worker_timeout
        self.poll = poll
        self.status = EXIT_OK
        self.beats: dict[str, float] = {}  # worker -> last heartbeat (monotonic)
        self.told_stop: set[str] = set()
        self.assigned: dict[str, str] = {}  # trial id -> worker
        self.lost: dict[str, str | None] = {}  # worker -> the trial it left unfinished
        self._lock = threading.Lock()

    # gRPC handlers run on the server's threads --------------------------------------

    def beat(self, request: bytes, context: Any) -> bytes:
        """Records a worker's heartbeat (the request is its tuner id).

        Returns:
            :data:`_OVER` once keras-tuner told that worker the search is over, so
            that it no longer takes the chief's silence for a loss; else ``b""``.
        """
        tuner_id = request.decode("utf-8", "replace")
        with self._lock:
            self.beats[tuner_id] = time.monotonic()
            return _OVER if tuner_id in self.told_stop else b""

    def created(self, tuner_id: str, trial: Any) -> None:
        """Records what ``CreateTrial`` answered a worker."""
        with self._lock:
            if trial.status == "STOPPED":
                self.told_stop.add(tuner_id)
            elif trial.status == "RUNNING":
                self.assigned[trial.trial_id] = tuner_id

    # the chief's main thread --------------------------------------------------------

    def serve(self, oracle: Any, directory: str | None) -> None:
        """Serves ``oracle`` until the search is over, then writes :data:`RESULTS_FILE`.

        Args:
            oracle: The chief tuner's oracle.
            directory: The chief tuner's ``directory``, where the results go.
        """
        from concurrent import futures

        import grpc

        from keras_blueprints._compat.keras_tuner import add_oracle_servicer

        servicer = _servicer_class()(oracle, self)
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        add_oracle_servicer(servicer, server)
        heartbeat = grpc.unary_unary_rpc_method_handler(self.beat)
        service, method = _HEARTBEAT_METHOD.strip("/").split("/")
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(service, {method: heartbeat}),)
        )
        try:
            bound = server.add_insecure_port(self.target)
        except RuntimeError:
            bound = 0
        if not bound:
            raise UsageError(
                f"the chief cannot listen on {self.target}",
                "--chief",
                hint="another process may hold the port: choose a free one "
                "(the workers' --chief must match)",
            )
        server.start()
        print(f"chief: serving the oracle on {self.target}", flush=True)
        started = time.monotonic()
        try:
            self._watch(oracle, servicer, started)
        finally:
            server.stop(grace=1.0).wait()
            self._write_results(oracle, directory, time.monotonic() - started)

    def _watch(self, oracle: Any, servicer: Any, started: float) -> None:
        over_since: float | None = None
        while True:
            time.sleep(self.poll)
            now = time.monotonic()
            self._drop_silent_workers(oracle, now)
            state = _snapshot(oracle)
            limit_reached = bool(oracle.max_trials) and state["trials"] >= oracle.max_trials
            over = (
                (servicer.stop_triggered or limit_reached)
                and not state["ongoing"]
                and not state["retry"]
            )
            if over:
                with self._lock:
                    alive = {w for w, t in self.beats.items() if now - t < self.worker_timeout}
                    waiting = sorted((state["tuner_ids"] | alive) - self.told_stop)
                over_since = over_since if over_since is not None else now
                if not waiting:
                    print("chief: every trial is finished; stopping", flush=True)
                    return
                if now - over_since >= self.grace:
                    print(
                        f"chief: every trial is finished; stopping without waiting longer "
                        f"for worker(s) {', '.join(waiting)}",
                        flush=True,
                    )
                    return
            else:
                over_since = None
            if self.timeout is not None and now - started >= self.timeout:
                running = ", ".join(sorted(state["ongoing"].values())) or "none"
                print(
                    f"chief: stopping at the {self.timeout:g} s timeout; "
                    f"{state['trials']} trial(s) created, running: {running} "
                    "(resume the search to finish them)",
                    flush=True,
                )
                self.status = EXIT_INCOMPLETE
                return

    def _drop_silent_workers(self, oracle: Any, now: float) -> None:
        import keras_tuner as kt

        with self._lock:
            silent = [w for w, t in self.beats.items() if now - t >= self.worker_timeout]
            for worker in silent:
                del self.beats[worker]
            silent = [w for w in silent if w not in self.told_stop]  # those left when told to
        for worker in silent:
            trial = kt.synchronized(_forget_worker)(oracle, worker)
            self.lost[worker] = None if trial is None else trial.trial_id
            if trial is None:
                print(f"chief: worker {worker} stopped answering", flush=True)
                continue
            trial.status = "FAILED"
            trial.message = (
                f"worker {worker} stopped answering (no heartbeat for {self.worker_timeout:g} s)"
            )
            try:
                oracle.end_trial(trial)
            except RuntimeError as exc:  # keras-tuner's limit of consecutive failed trials
                print(f"chief: {exc}", flush=True)
            print(
                f"chief: worker {worker} stopped answering; trial {trial.trial_id} "
                "recorded as failed",
                flush=True,
            )

    def _write_results(self, oracle: Any, directory: str | None, seconds: float) -> None:
        from keras_blueprints._core.files import atomic_write_json

        if directory is None:
            return

        with self._lock:
            assigned = dict(sorted(self.assigned.items()))
        counts: dict[str, int] = {}
        for worker in assigned.values():
            counts[worker] = counts.get(worker, 0) + 1
        atomic_write_json(
            Path(directory) / RESULTS_FILE,
            {
                "address": self.target,
                "status": "finished" if self.status == EXIT_OK else "timed out",
                "seconds": round(seconds, 3),
                "trials": assigned,
                "workers": dict(sorted(counts.items())),
                "lost": self.lost,
            },
        )


def _servicer_class() -> type:
    from keras_tuner.engine.trial import Trial

    from keras_blueprints._compat.keras_tuner import oracle_servicer_class

    class Servicer(oracle_servicer_class()):
        """keras-tuner's servicer, telling the chief which worker got which trial."""

        def __init__(self, oracle: Any, chief: _ChiefServer) -> None:
            super().__init__(oracle)
            self.chief = chief

        def CreateTrial(self, request: Any, context: Any) -> Any:
            response = super().CreateTrial(request, context)
            self.chief.created(request.tuner_id, Trial.from_proto(response.trial))
            return response

    return Servicer


def _snapshot(oracle: Any) -> dict[str, Any]:
    """What the chief watches of the oracle, read under the oracle's lock."""
    import keras_tuner as kt

    return kt.synchronized(_read_oracle)(oracle)


def _read_oracle(oracle: Any) -> dict[str, Any]:
    return {
        "trials": len(oracle.trials),
        "ongoing": {w: t.trial_id for w, t in oracle.ongoing_trials.items()},
        "tuner_ids": set(oracle.tuner_ids),
        # A trial ended INVALID waits in the oracle's retry queue (ended for good, it
        # would be COMPLETED or FAILED): it will run again.
        "retry": sum(t.status == "INVALID" for t in oracle.trials.values()),
    }


def _forget_worker(oracle: Any, worker: str) -> Any:
    """The trial ``worker`` was running (None if none); it gets no further trial."""
    oracle.tuner_ids.discard(worker)
    return oracle.ongoing_trials.get(worker)


def trial_workers(directory: str | Path) -> dict[str, str]:
    """Which worker ran each trial of a distributed search.

    Args:
        directory: The chief's tuner directory (the run directory).

    Returns:
        Trial id -> worker's tuner id (``tuner1``...); empty for a local search.
    """
    path = Path(directory) / RESULTS_FILE
    if not path.is_file():
        return {}
    return dict(json.loads(path.read_text())["trials"])


# ---------------------------------------------------------------- worker


def is_worker(tuner: Any) -> bool:
    """Whether ``tuner`` is a worker of a distributed search (its oracle is the chief's).

    A worker's tuner is built with an oracle and, as keras-tuner reads the
    ``KERASTUNER_*`` environment in ``BaseTuner.__init__``, swaps it for a gRPC client
    of the chief's, which is no ``keras_tuner.Oracle``.

    Args:
        tuner: A keras-tuner tuner.
    """
    import keras_tuner as kt

    return not isinstance(tuner.oracle, kt.Oracle)


def run_worker(
    worker_id: str,
    address: str,
    search: Callable[[], Any],
    *,
    connect_timeout: float = 30.0,
    heartbeat: float = 1.0,
    misses: int = 3,
    rpc_timeout: float = 600.0,
    threads: int | None = None,
    exit_grace: float = 15.0,
) -> int:
    """Runs ``search`` as worker ``worker_id`` of the chief at ``address``.

    The worker's tuner id is ``tuner<worker_id>``. It waits for the chief to
    answer, runs trials until the chief says the search is over, and leaves
    with :data:`EXIT_NO_CHIEF` and one line on stderr when the chief cannot be
    reached or stops answering (also in the middle of a trial).

    Args:
        worker_id: This worker's id: letters, digits, ``_.-``, unique per search.
        address: The chief's ``HOST:PORT``.
        search: Constructs the keras-tuner tuner and calls its ``search``.
        connect_timeout: Seconds to wait for the chief to answer at the start.
        heartbeat: Seconds between two heartbeats to the chief.
        misses: Consecutive unanswered heartbeats after which the chief is gone.
        rpc_timeout: Bound on every keras-tuner call to the chief (keras-tuner's
            own is an hour).
        threads: Pin TensorFlow to this many threads (see :func:`pin_threads`).
        exit_grace: Seconds the search has to unwind after the chief is gone
            before the process exits regardless.

    Returns:
        :data:`EXIT_OK` when the chief ended the search, :data:`EXIT_NO_CHIEF`
        when it could not be reached or went away.

    Raises:
        UsageError: A malformed worker id or address.
    """
    tuner_id = f"tuner{_check_worker_id(worker_id)}"
    host, port = parse_address(address)
    if threads is not None:
        pin_threads(threads)
    import grpc

    from keras_blueprints._compat.keras_tuner import client_timeout

    target = f"{host}:{port}"
    channel = grpc.insecure_channel(target)
    try:
        try:
            grpc.channel_ready_future(channel).result(timeout=connect_timeout)
        except grpc.FutureTimeoutError:
            _say(
                f"worker {worker_id}: no chief answers at {target} after {connect_timeout:g} s; "
                f"start it first with `blueprint tune FILE --chief {target}` "
                "(or the search it served is over)"
            )
            return EXIT_NO_CHIEF
        watcher = _Watcher(channel, tuner_id, heartbeat, misses, exit_grace, target, worker_id)
        with (
            _environment(tuner_id, host, port),
            client_timeout(rpc_timeout),
            _interruptible(watcher),
            watcher,
        ):
            try:
                search()
                # A worker's search returns only when the chief said it is over.
                watcher.finished.set()
            except ChiefLost:
                return EXIT_NO_CHIEF
            except grpc.RpcError as exc:
                if not _gone(exc.code()):
                    raise
                _say(f"worker {worker_id}: lost the chief at {target} ({exc.code().name})")
                return EXIT_NO_CHIEF
            if watcher.lost.is_set():  # lost after the search returned on its own
                return EXIT_NO_CHIEF
        return EXIT_OK
    finally:
        channel.close()


def _gone(code: Any) -> bool:
    """Whether a gRPC status code means the chief cannot be reached."""
    import grpc

    return code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _Watcher:
    """Beats to the chief from a thread; interrupts the search when it stops answering."""

    def __init__(
        self,
        channel: Any,
        tuner_id: str,
        period: float,
        misses: int,
        exit_grace: float,
        target: str,
        worker_id: str,
    ) -> None:
        self.beat = channel.unary_unary(_HEARTBEAT_METHOD)
        self.tuner_id = tuner_id
        self.period = period
        self.misses = misses
        self.exit_grace = exit_grace
        self.target = target
        self.worker_id = worker_id
        self.finished = threading.Event()  # the chief said the search is over
        self.lost = threading.Event()
        self.done = threading.Event()  # run_worker is returning
        self.interrupt = False  # set when the main thread turns SIGINT into ChiefLost
        self._thread = threading.Thread(target=self._run, name="chief-heartbeat", daemon=True)

    def __enter__(self) -> _Watcher:
        self._alive()  # the chief knows this worker before it hands it a trial
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self._thread.join(timeout=self.period + 5.0)

    def _alive(self) -> bool:
        import grpc

        try:
            answer = self.beat(self.tuner_id.encode(), timeout=max(self.period, 1.0))
        except grpc.RpcError as exc:
            # A chief that is not ours (plain keras-tuner) answers UNIMPLEMENTED: alive.
            return not _gone(exc.code())
        if answer == _OVER:
            self.finished.set()  # from now on the chief may leave at any moment
        return True

    def _run(self) -> None:
        missed = 0
        while not self.done.wait(self.period):
            if self.finished.is_set():
                return
            missed = 0 if self._alive() else missed + 1
            if missed < self.misses or self.finished.is_set() or self.done.is_set():
                continue
            self.lost.set()
            _say(
                f"worker {self.worker_id}: the chief at {self.target} stopped answering; "
                "stopping (the trial in progress is not reported)"
            )
            if self.interrupt:  # a real signal also wakes a main thread blocked in a call
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            if not self.done.wait(self.exit_grace):
                _say(f"worker {self.worker_id}: the search did not stop; exiting")
                sys.stdout.flush()
                os._exit(EXIT_NO_CHIEF)
            return


@contextlib.contextmanager
def _interruptible(watcher: _Watcher) -> Iterator[None]:
    """Turns the watcher's interrupt into :class:`ChiefLost` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    watcher.interrupt = True

    def handler(signum: int, frame: Any) -> None:
        if watcher.lost.is_set():
            if not watcher.finished.is_set():  # else the search already ended on its own
                raise ChiefLost
            return
        if callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        watcher.interrupt = False
        signal.signal(signal.SIGINT, previous)
