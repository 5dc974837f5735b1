#!/usr/bin/env python3
"""B9: `vigil serve` with embedded PostgreSQL, first start (initdb) and warm start to /readyz.

References measured in the same run, on the same machine (BENCHMARKS.md):
  initdb            the machine's initdb, as the postgres user, with Vigil's flags, into a fresh dir
  pg_ctl start      `pg_ctl -w start` of that cluster (no TCP listener, private socket directory)
Measured:
  first start       `vigil serve` on a fresh data dir (initdb included) until /readyz answers 200
  warm start        SIGTERM, wait for exit, `vigil serve` again on the same dir until /readyz 200

Each run uses fresh directories; the figures printed are medians over the runs. Bars:
first start < 5 s, warm start < 1 s (absolute; the ratio to the reference is printed alongside).

Usage:
  python3 Benchmarks/b9_startup.py [--vigil PATH] [--runs N] [--smoke]
  (binary: --vigil, else env VIGIL_BIN, else .build/release/vigil, else .build/debug/vigil)

Output on stdout, one line per bar:
  B9.first_start 1.23 s ratio=2.4 (vs initdb 0.51 s) bar<5s PASS
  B9.warm_start 0.45 s ratio=3.7 (vs pg_ctl start 0.12 s) bar<1s PASS
Per-run figures go to stderr. Every process and directory created is removed at the end.
The binary and its *.resources bundles are copied to a private directory first, so a rebuild
during the run cannot swap them.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import http.client
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK_ROOT = Path("/tmp/vigil-bench")
RELOCATION_ROOT = Path("/var/lib/vigil")
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0

FIRST_BAR = 5.0
WARM_BAR = 1.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------
# Environment
# ------------------------------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """Where initdb/pg_ctl are, the way Vigil finds them: pg_config --bindir, else the newest version."""
    def usable(directory: Path) -> bool:
        return all(os.access(directory / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres"))

    for pg_config in ("/usr/bin/pg_config", "/usr/local/bin/pg_config"):
        if os.access(pg_config, os.X_OK):
            result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
            if result.returncode == 0 and usable(Path(result.stdout.strip())):
                return Path(result.stdout.strip())
    versions = sorted((int(p.name) for p in Path("/usr/lib/postgresql").glob("*") if p.name.isdigit()), reverse=True)
    for version in versions:
        if usable(Path(f"/usr/lib/postgresql/{version}/bin")):
            return Path(f"/usr/lib/postgresql/{version}/bin")
    sys.exit("b9: PostgreSQL server binaries not found (apt-get install postgresql)")


class ClusterUser:
    """The account clusters run as: postgres when we are root (as Vigil does), else ourselves."""

    def __init__(self) -> None:
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                sys.exit("b9: running as root but there is no 'postgres' user")
            self.uid, self.gid = entry.pw_uid, entry.pw_gid
            self.switch = True
        else:
            self.uid, self.gid = os.geteuid(), os.getegid()
            self.switch = False

    def run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        if self.switch:
            kwargs.update(user=self.uid, group=self.gid, extra_groups=[self.gid])
        env = dict(os.environ, LC_ALL="C", PGTZ="UTC")
        return subprocess.run(argv, env=env, cwd="/", stdin=subprocess.DEVNULL, **kwargs)

    def own(self, path: Path, mode: int = 0o700) -> None:
        if self.switch:
            os.chown(path, self.uid, self.gid)
        os.chmod(path, mode)


def resolve_binary(explicit: str | None) -> Path:
    candidates = [explicit, os.environ.get("VIGIL_BIN"), REPO / ".build/release/vigil", REPO / ".build/debug/vigil"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
        if candidate and (candidate == explicit):
            sys.exit(f"b9: no vigil binary at {candidate}")
    sys.exit("b9: no vigil binary (pass --vigil or set VIGIL_BIN)")


def copy_binary(source: Path, destination: Path) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, destination / source.name)
    for bundle in glob.glob(str(source.parent / "*.resources")):
        shutil.copytree(bundle, destination / os.path.basename(bundle), symlinks=True)
    return destination / source.name


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postmasters(cluster_dir: Path) -> list[int]:
    """PIDs of `postgres -D <cluster_dir>` (what `pgrep -f` shows)."""
    target = f"postgres -D {cluster_dir}"
    result = subprocess.run(["pgrep", "-af", "postgres -D"], capture_output=True, text=True)
    found = []
    for line in result.stdout.splitlines():
        pid, _, command = line.partition(" ")
        index = command.find(target)
        end = index + len(target)
        if pid.isdigit() and index >= 0 and (end == len(command) or command[end] == " "):
            found.append(int(pid))
    return found


def terminate(process: subprocess.Popen) -> bool:
    """SIGTERM `process` and wait; SIGKILL it if it has not exited within STOP_TIMEOUT. True if SIGTERM sufficed."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
        return True
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        return False


def wait_gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(os.path.exists(f"/proc/{pid}") and not _zombie(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def kill_postmasters(cluster_dir: Path) -> list[int]:
    pids = postmasters(cluster_dir)
    for sig, wait in ((signal.SIGINT, 30.0), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 10.0)):
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if wait_gone(pids, wait):
            break
    return pids


# ------------------------------------------------------------------------------------------------
# Measurements
# ------------------------------------------------------------------------------------------------


class Run:
    """One run's directories and processes; `cleanup()` removes all of them."""

    def __init__(self, root: Path, user: ClusterUser, bindir: Path, vigil: Path, index: int):
        self.root = Path(tempfile.mkdtemp(prefix=f"run{index}-", dir=root))
        os.chmod(self.root, 0o755)  # the postgres user must traverse it
        self.user = user
        self.bindir = bindir
        self.vigil = vigil
        self.reference = self.root / "reference"
        self.data_dir = self.root / "vigil-data"
        self.processes: list[subprocess.Popen] = []
        self.reference_started = False

    # References --------------------------------------------------------------------------------

    def time_initdb(self) -> float:
        self.reference.mkdir()
        self.user.own(self.reference, 0o755)
        cluster = self.reference / "pg"
        cluster.mkdir()
        self.user.own(cluster)
        argv = [
            str(self.bindir / "initdb"), "-D", str(cluster), "-U", "postgres", "--encoding=UTF8", "--locale=C",
            "--auth-local=trust", "--auth-host=scram-sha-256",
        ]
        start = time.perf_counter()
        result = self.user.run(argv, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        return elapsed

    def time_pg_ctl_start(self) -> float:
        cluster = self.reference / "pg"
        sockets = self.reference / "run"
        sockets.mkdir()
        self.user.own(sockets)
        logfile = self.reference / "postgres.log"
        logfile.touch()
        self.user.own(logfile, 0o600)
        options = f"-c listen_addresses='' -k {sockets}"
        argv = [str(self.bindir / "pg_ctl"), "-D", str(cluster), "-l", str(logfile), "-o", options, "-w", "-t", "60", "-s", "start"]
        self.reference_started = True
        start = time.perf_counter()
        result = self.user.run(argv, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed:\n{result.stdout}\n{result.stderr}\n{logfile.read_text(errors='replace')}")
        self.stop_reference()
        return elapsed

    def stop_reference(self) -> None:
        if not self.reference_started:
            return
        cluster = self.reference / "pg"
        self.user.run([str(self.bindir / "pg_ctl"), "-D", str(cluster), "-m", "fast", "-w", "-t", "60", "-s", "stop"],
                      capture_output=True)
        kill_postmasters(cluster)
        self.reference_started = False

    # Vigil -------------------------------------------------------------------------------------

    def time_vigil_start(self, label: str) -> float:
        port = free_port()
        logfile = open(self.root / f"vigil-{label}.log", "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
        start = time.perf_counter()
        process = subprocess.Popen(
            [str(self.vigil), "serve", "--data-dir", str(self.data_dir), "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=logfile, stderr=logfile, cwd=self.root, env=env,
        )
        logfile.close()
        self.processes.append(process)
        deadline = start + READY_TIMEOUT
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"vigil serve ({label}) exited with {process.returncode}:\n{self.log_tail(label)}")
            if self.ready(port):
                return time.perf_counter() - start
            time.sleep(0.005)
        raise RuntimeError(f"vigil serve ({label}) not ready within {READY_TIMEOUT} s:\n{self.log_tail(label)}")

    @staticmethod
    def ready(port: int) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/readyz")
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def stop_vigil(self) -> float:
        """SIGTERM the running vigil; returns how long it took to exit."""
        process = self.processes[-1]
        start = time.perf_counter()
        if not terminate(process):
            raise RuntimeError("vigil serve did not stop within 60 s of SIGTERM")
        elapsed = time.perf_counter() - start
        if process.returncode != 0:
            log(f"b9: warning: vigil serve exited with {process.returncode} on SIGTERM")
        leftover = self.vigil_postmasters()
        if leftover and not wait_gone(leftover, 5):
            raise RuntimeError(f"postgres still running after vigil stopped: {leftover}")
        return elapsed

    def vigil_cluster_dirs(self) -> list[Path]:
        absolute = os.path.abspath(self.data_dir)
        relocated = RELOCATION_ROOT / hashlib.sha256(absolute.encode()).hexdigest()[:16]
        return [Path(absolute) / "pg", relocated / "pg"]

    def vigil_postmasters(self) -> list[int]:
        return [pid for directory in self.vigil_cluster_dirs() for pid in postmasters(directory)]

    def log_tail(self, label: str) -> str:
        try:
            return "\n".join((self.root / f"vigil-{label}.log").read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""

    # Cleanup -----------------------------------------------------------------------------------

    def cleanup(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                terminate(process)
        try:
            self.stop_reference()
        finally:
            for directory in self.vigil_cluster_dirs():
                if kill_postmasters(directory):
                    log(f"b9: stopped a postgres left running for {directory}")
            relocated = self.vigil_cluster_dirs()[1].parent
            if relocated.exists():
                shutil.rmtree(relocated, ignore_errors=True)
            shutil.rmtree(self.root, ignore_errors=True)


def verdict(value: float, bar: float) -> str:
    return "PASS" if value < bar else "FAIL"


def interrupt(signum, frame) -> None:
    raise KeyboardInterrupt()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vigil", help="vigil binary (default env VIGIL_BIN, else the release, else the debug build)")
    parser.add_argument("--runs", type=int, default=5, help="repetitions; medians are reported (default 5)")
    parser.add_argument("--smoke", action="store_true", help="one run, to check the benchmark works")
    arguments = parser.parse_args()
    runs = 1 if arguments.smoke else max(1, arguments.runs)

    # SIGTERM ends the benchmark like Ctrl-C: through the finally blocks that clean up.
    signal.signal(signal.SIGTERM, interrupt)

    source = resolve_binary(arguments.vigil)
    bindir = postgres_bindir()
    user = ClusterUser()
    WORK_ROOT.mkdir(parents=True, exist_ok=True)
    os.chmod(WORK_ROOT, 0o755)
    work = Path(tempfile.mkdtemp(prefix="b9-", dir=WORK_ROOT))
    os.chmod(work, 0o755)
    log(f"b9: vigil {source} ; postgres {bindir} ; {runs} run(s) ; work dir {work}")

    samples: dict[str, list[float]] = {"initdb": [], "pg_ctl_start": [], "first_start": [], "warm_start": [], "stop": []}
    try:
        vigil = copy_binary(source, work / "bin")
        for index in range(1, runs + 1):
            run = Run(work, user, bindir, vigil, index)
            try:
                figures = {
                    "initdb": run.time_initdb(),
                    "pg_ctl_start": run.time_pg_ctl_start(),
                    "first_start": run.time_vigil_start("first"),
                }
                figures["stop"] = run.stop_vigil()
                figures["warm_start"] = run.time_vigil_start("warm")
                run.stop_vigil()
            finally:
                run.cleanup()
            for name, value in figures.items():
                samples[name].append(value)
            log(f"b9: run {index}: " + " ".join(f"{name}={value:.3f}s" for name, value in figures.items()))
    except KeyboardInterrupt:
        log("b9: interrupted")
        return 130
    except RuntimeError as error:
        log(f"b9: {error}")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)

    median = {name: statistics.median(values) for name, values in samples.items()}
    first, warm = median["first_start"], median["warm_start"]
    print(
        f"B9.first_start {first:.2f} s ratio={first / median['initdb']:.1f} (vs initdb {median['initdb']:.2f} s) "
        f"bar<{FIRST_BAR:g}s {verdict(first, FIRST_BAR)}"
    )
    print(
        f"B9.warm_start {warm:.2f} s ratio={warm / median['pg_ctl_start']:.1f} (vs pg_ctl start {median['pg_ctl_start']:.2f} s) "
        f"bar<{WARM_BAR:g}s {verdict(warm, WARM_BAR)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
