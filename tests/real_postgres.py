"""A real PostgreSQL for tests: initdb in a temporary directory, served on a free port of
127.0.0.1, stopped and started again at will. As root (CI) it runs as `nobody`, since PostgreSQL
refuses to run as root. `make test` installs PostgreSQL; `running_postgres` fails the test, saying
why, when its programs are missing."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest

from .servers import free_port

UNPRIVILEGED = "nobody"


def postgres_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, else Debian's newest /usr/lib/postgresql/N/bin."""
    if (initdb := shutil.which("initdb")) and shutil.which("pg_ctl"):
        return Path(initdb).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit()
                   else 0)
    return Path(found[-1]).parent if found else None


class RealPostgres:
    """One PostgreSQL server (superuser `postgres`, trust authentication on loopback)."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            self._as_user = ["runuser", "-u", UNPRIVILEGED, "--"]
            shutil.chown(root, UNPRIVILEGED)
        root.chmod(0o755)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    async def fresh_database(self) -> str:
        """The URL of a new, empty database of this server's (one per test)."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f"CREATE DATABASE {name}")
        finally:
            await conn.close()
        return self.url(name)

    def _run(self, *command: str) -> None:
        result = subprocess.run([*self._as_user, *command], capture_output=True, text=True,
                                timeout=60, cwd=self.root)
        if result.returncode:
            raise RuntimeError(f"{command[0]} failed ({result.returncode}): "
                               f"{result.stdout}{result.stderr}")

    def init(self) -> None:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")

    def start(self) -> None:
        # synchronous_commit off: a commit's WAL is flushed in the background (like SQLite's
        # synchronous=NORMAL); fsync off: test data need not survive a power cut.
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.root / "log"), "-o", options, "-w", "-t", "30", "start")

    def stop(self) -> None:
        """Stop at once: connected clients are disconnected (`-m fast`)."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                  "stop")


@contextmanager
def running_postgres() -> Iterator[RealPostgres]:
    """A PostgreSQL server for the block; a missing installation fails the test (`make test`
    installs it)."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.fail("PostgreSQL is not installed (initdb and pg_ctl not found on PATH nor in "
                    "/usr/lib/postgresql/*/bin): `make test` installs it (apt-get install "
                    "postgresql)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.fail("running as root without runuser (util-linux): PostgreSQL refuses to run as "
                    "root")
    root = Path(tempfile.mkdtemp(prefix="adapter-pg-"))
    server = RealPostgres(bin_dir, root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(RuntimeError):  # already stopped (by a test that failed)
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
