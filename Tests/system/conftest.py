"""System tests of the `vigil` executable: real processes, real embedded PostgreSQL.

Every test gets its own data directory and a free port; every process a test starts is stopped
by the fixtures (SIGTERM, then SIGKILL), and teardown fails the test when a postgres started for
one of its data directories is still running (it is then stopped, so nothing leaks).

Environment:
  VIGIL_BIN                 the binary under test (default /work/main/.build/debug/vigil); it is
                            copied, with the *.resources bundles beside it, into a private
                            directory so that a rebuild during the run cannot swap it.
  VIGIL_SYSTEM_TEST_ROOT    where temporary directories go (default /tmp/vigil-system-tests,
                            created 0755 so that the postgres user can traverse it).
  VIGIL_START_TIMEOUT       seconds to wait for /readyz (default 90; debug builds are slow).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

DEFAULT_BIN = "/work/main/.build/debug/vigil"
TEST_ROOT = Path(os.environ.get("VIGIL_SYSTEM_TEST_ROOT", "/tmp/vigil-system-tests"))
START_TIMEOUT = float(os.environ.get("VIGIL_START_TIMEOUT", "90"))
STOP_TIMEOUT = 60.0
COMMAND_TIMEOUT = 180.0
RELOCATION_ROOT = Path("/var/lib/vigil")


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def ensure_test_root() -> Path:
    TEST_ROOT.mkdir(parents=True, exist_ok=True)
    os.chmod(TEST_ROOT, 0o755)
    return TEST_ROOT


def traversable_tempdir(prefix: str) -> Path:
    """A fresh directory the postgres user can traverse (mkdtemp makes 0700 ones)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=ensure_test_root()))
    os.chmod(path, 0o755)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def relocated_root(data_dir: str | os.PathLike) -> Path:
    """Where Vigil puts the cluster when postgres cannot traverse `data_dir`."""
    absolute = os.path.abspath(os.fspath(data_dir))
    return RELOCATION_ROOT / hashlib.sha256(absolute.encode()).hexdigest()[:16]


def cluster_roots(data_dir: str | os.PathLike) -> list[Path]:
    """Both places a data directory's cluster may live (`<root>/pg`)."""
    return [Path(os.path.abspath(os.fspath(data_dir))), relocated_root(data_dir)]


def postgres_processes(cluster_root: str | os.PathLike) -> list[tuple[int, str]]:
    """Postmasters running `postgres -D <cluster_root>/pg` (what `pgrep -f` sees)."""
    target = f"postgres -D {os.fspath(cluster_root)}/pg"
    result = subprocess.run(["pgrep", "-af", "postgres -D"], capture_output=True, text=True)
    found = []
    for line in result.stdout.splitlines():
        pid_text, _, command = line.partition(" ")
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        index = command.find(target)
        end = index + len(target)
        if index >= 0 and (end == len(command) or command[end] == " "):
            found.append((int(pid_text), command))
    return found


def postgres_for_data_dir(data_dir: str | os.PathLike) -> list[tuple[int, str]]:
    found = []
    for root in cluster_roots(data_dir):
        found.extend(postgres_processes(root))
    return found


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def stop_postmaster(pid: int, timeout: float = 30.0) -> None:
    """Stops a stray postmaster: fast shutdown, then immediate, then SIGKILL."""
    for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if wait_until(lambda: not pid_alive(pid), wait):
            return


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def clean_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(extra or {})
    return env


def copy_binary(source: str | os.PathLike, destination: Path) -> Path:
    """Copies the binary and the *.resources bundles beside it (Bundle.module looks there)."""
    source = Path(source)
    destination.mkdir(parents=True, exist_ok=True)
    os.chmod(destination, 0o755)
    shutil.copy2(source, destination / source.name)
    for bundle in glob.glob(os.path.join(source.parent, "*.resources")):
        shutil.copytree(bundle, destination / os.path.basename(bundle), symlinks=True)
    return destination / source.name


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


class VigilProcess:
    """One long-running `vigil serve` / `vigil demo`."""

    def __init__(self, popen: subprocess.Popen, command: str, data_dir: Path, port: int, log_path: Path):
        self.popen = popen
        self.command = command
        self.data_dir = data_dir
        self.port = port
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return requests.get(self.url(path), **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return requests.post(self.url(path), **kwargs)

    @property
    def stdout_path(self) -> Path:
        return self.log_path.with_suffix(".out")

    def log(self) -> str:
        """What the process wrote on stderr (its JSON-lines log)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def running(self) -> bool:
        return self.popen.poll() is None

    def wait_ready(self, timeout: float = START_TIMEOUT) -> float:
        """Waits for /readyz 200; returns the seconds it took. Fails if the process exits."""
        start = time.monotonic()
        deadline = start + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                pytest.fail(
                    f"vigil {self.command} exited with {self.popen.returncode} before /readyz answered:\n{tail(self.log_path)}"
                )
            try:
                response = requests.get(self.url("/readyz"), timeout=2)
                if response.status_code == 200:
                    return time.monotonic() - start
            except requests.RequestException:
                pass
            time.sleep(0.05)
        pytest.fail(f"vigil {self.command} not ready within {timeout} s:\n{tail(self.log_path)}")

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM and wait; SIGKILL if it does not stop in time (and fail)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
                pytest.fail(f"vigil {self.command} did not stop within {timeout} s of SIGTERM:\n{tail(self.log_path)}")
        return self.popen.returncode

    def kill9(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(30)


class VigilHarness:
    """Starts vigil processes and commands; `close()` stops them and checks nothing is left."""

    def __init__(self, binary: Path):
        self.binary = Path(binary)
        self.work = traversable_tempdir("run-")
        self.processes: list[VigilProcess] = []
        self.data_dirs: list[Path] = []
        self.extra_cleanup: list[Path] = []
        self._logs = 0

    # Directories ------------------------------------------------------------------------

    def new_data_dir(self) -> Path:
        """`<traversable temp dir>/data`, not yet created (vigil creates it)."""
        parent = traversable_tempdir("data-")
        self.extra_cleanup.append(parent)
        data_dir = parent / "data"
        self.data_dirs.append(data_dir)
        return data_dir

    def new_untraversable_data_dir(self) -> Path:
        """`<0700 tempfile.mkdtemp()>/data`: the postgres user cannot reach it, so vigil relocates."""
        parent = Path(tempfile.mkdtemp(prefix="vigil-relocated-"))
        assert (os.stat(parent).st_mode & 0o777) == 0o700
        self.extra_cleanup.append(parent)
        data_dir = parent / "data"
        self.data_dirs.append(data_dir)
        self.extra_cleanup.append(relocated_root(data_dir))
        return data_dir

    def track_data_dir(self, data_dir: Path) -> None:
        if data_dir not in self.data_dirs:
            self.data_dirs.append(data_dir)

    def _log_path(self, name: str) -> Path:
        self._logs += 1
        return self.work / f"{self._logs:02d}-{name}.log"

    # Processes --------------------------------------------------------------------------

    def start(
        self,
        command: str = "demo",
        data_dir: Path | None = None,
        port: int | None = None,
        wait: bool = True,
        binary: Path | None = None,
        args: tuple = (),
        env: dict | None = None,
    ) -> VigilProcess:
        data_dir = data_dir or self.new_data_dir()
        self.track_data_dir(data_dir)
        port = port or free_port()
        log_path = self._log_path(command)
        argv = [str(binary or self.binary), command, "--data-dir", str(data_dir), "--port", str(port), *args]
        with open(log_path, "wb") as log, open(log_path.with_suffix(".out"), "wb") as out:
            popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=log, cwd=self.work, env=clean_env(env)
            )
        process = VigilProcess(popen, command, data_dir, port, log_path)
        self.processes.append(process)
        if wait:
            process.wait_ready()
        return process

    def run(self, *args: str, data_dir: Path | None = None, binary: Path | None = None, env: dict | None = None,
            timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess:
        """Runs a vigil command to completion (`--data-dir` appended when given)."""
        argv = [str(binary or self.binary), *args]
        if data_dir is not None:
            self.track_data_dir(data_dir)
            argv += ["--data-dir", str(data_dir)]
        return subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=self.work, env=clean_env(env), timeout=timeout
        )

    # Teardown ---------------------------------------------------------------------------

    def close(self) -> list[str]:
        """Stops everything; returns the problems found (leftover processes)."""
        problems = []
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
                try:
                    process.popen.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    problems.append(f"vigil {process.command} (pid {process.pid}) ignored SIGTERM; killed")
                    process.popen.kill()
                    process.popen.wait(10)
        for data_dir in self.data_dirs:
            leftovers = postgres_for_data_dir(data_dir)
            # A postmaster that is still shutting down gets a moment before it counts as leaked.
            if leftovers:
                wait_until(lambda: not postgres_for_data_dir(data_dir), 10)
                leftovers = postgres_for_data_dir(data_dir)
            for pid, command in leftovers:
                problems.append(f"postgres left running for {data_dir}: pid {pid}: {command}")
                stop_postmaster(pid)
        for path in [*self.extra_cleanup, self.work]:
            shutil.rmtree(path, ignore_errors=True)
        return problems


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def vigil_source_bin() -> Path:
    """The binary named by VIGIL_BIN (default the debug build)."""
    path = Path(os.environ.get("VIGIL_BIN", DEFAULT_BIN))
    if not path.is_file():
        pytest.exit(f"vigil binary not found at {path} (set VIGIL_BIN)", returncode=2)
    return path


@pytest.fixture(scope="session")
def vigil_bin(vigil_source_bin: Path):
    """A private copy of the binary and its resource bundles, so a rebuild cannot swap it mid-run."""
    directory = traversable_tempdir("bin-")
    try:
        yield copy_binary(vigil_source_bin, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def harness_for(binary: Path):
    harness = VigilHarness(binary)
    try:
        yield harness
    finally:
        problems = harness.close()
        if problems:
            pytest.fail("teardown found leftovers:\n" + "\n".join(problems))


@pytest.fixture
def vigil(vigil_bin: Path):
    """A harness for one test: `vigil.start(...)`, `vigil.run(...)`, `vigil.new_data_dir()`."""
    with harness_for(vigil_bin) as harness:
        yield harness


@pytest.fixture(scope="module")
def module_vigil(vigil_bin: Path):
    with harness_for(vigil_bin) as harness:
        yield harness


@pytest.fixture(scope="module")
def demo_server(module_vigil: VigilHarness) -> VigilProcess:
    """One `vigil demo` shared by the read-only HTTP tests of a module."""
    return module_vigil.start("demo")
