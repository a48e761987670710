"""A real Virtuoso (Debian's `virtuoso-opensource`, `virtuoso-t`) for the remote-store tests.

Each server gets a private `virtuoso.ini` in its own directory: database, transaction log and
temporary database live there, the HTTP and ISQL ports are free ports on 127.0.0.1 only, and
the packaged database under /var/lib is never touched. At start-up, `isql-vt` runs the
README's Virtuoso recipe (`SETUP_SQL`): the `SPARQL` web user may update, and Virtuoso's own
system graphs are made private so that the default graph (the union of all graphs) holds
only the data.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx

STARTUP_DEADLINE = 60.0
ISQL_TIMEOUT = 30.0
DBA_PASSWORD = "dba"  # a fresh database's; the server listens on 127.0.0.1 only

# Virtuoso's own graphs, present in a fresh database (its RDF-view metadata, LDP, the
# service description). Private graphs stay out of the union default graph of `nobody`.
SYSTEM_GRAPHS = (
    "http://www.openlinksw.com/schemas/virtrdf#",
    "http://www.w3.org/ns/ldp#",
    "http://localuriqaserver/sparql",
)
PRIVATE_GROUP = "http://www.openlinksw.com/schemas/virtrdf#PrivateGraphs"
SETUP_SQL = "\n".join(
    [
        'GRANT SPARQL_UPDATE TO "SPARQL";',
        f"DB.DBA.RDF_GRAPH_GROUP_CREATE ('{PRIVATE_GROUP}', 1);",
        *(f"DB.DBA.RDF_GRAPH_GROUP_INS ('{PRIVATE_GROUP}', '{g}');" for g in SYSTEM_GRAPHS),
        "DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 0, 1);",  # private graphs: nothing
        "DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 15, 0);",  # other graphs: read+write
    ]
)

INI_TEMPLATE = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{isql_port}
DisableUnixSocket = 1
DisableTcpSocket = 0
MaxClientConnections = 20
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = {dir}
NumberOfBuffers = 4000
MaxDirtyBuffers = 3000
ThreadsPerQuery = 2
AsyncQueueMaxThreads = 4
MaxQueryMem = 256M

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}
ServerThreads = 20
MaxClientConnections = 20
MaxKeepAlives = 20
KeepAliveTimeout = 10
Charset = UTF-8
EnabledGzipContent = 0

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = {timeout_s}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def virtuoso_binaries() -> tuple[str, str]:
    """`virtuoso-t` and `isql-vt` from Debian's `virtuoso-opensource` (installed by .ci/run)."""
    server, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt")
    if not server or not isql:
        raise RuntimeError(
            "Virtuoso is missing: apt-get install virtuoso-opensource (.ci/run installs it)"
        )
    return server, isql


class VirtuosoServer:
    """`virtuoso-t +foreground` over a private directory and ini; stop and start it again."""

    def __init__(self, location: Path, *, timeout_s: int = 10) -> None:
        self.location = location
        self.location.mkdir(parents=True, exist_ok=True)
        self.http_port, self.isql_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.ini_path = location / "virtuoso.ini"
        self.ini_path.write_text(
            INI_TEMPLATE.format(
                dir=location, http_port=self.http_port, isql_port=self.isql_port,
                timeout_s=timeout_s,
            )
        )
        self.log_path = location / "virtuoso.log"
        self.output_path = location / "virtuoso-t.out"
        self.process: subprocess.Popen[bytes] | None = None
        self.set_up = False

    def settings(self) -> dict[str, object]:
        """The README's Virtuoso recipe as Settings fields."""
        return {
            "store": self.url,
            "store_query_url": f"{self.url}/sparql",
            "store_update_url": f"{self.url}/sparql",
            "store_graph_url": f"{self.url}/sparql-graph-crud",
            "store_union_default_graph": "",
            # One update request is not one transaction (test_virtuoso.py shows it).
            "store_atomic_updates": False,
            # Its SPARQL compiler refuses a whole reach in one query (README, "Virtuoso").
            "validation_arms_per_query": 6,
        }

    def start(self) -> VirtuosoServer:
        server, _ = virtuoso_binaries()
        output = self.output_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [server, "+foreground", "+configfile", str(self.ini_path)],
                cwd=self.location, stdout=output, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            output.close()
        self._wait_until_ready()
        if not self.set_up:
            self.isql(SETUP_SQL)
            self.set_up = True
        return self

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_DEADLINE
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"virtuoso-t exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                answer = httpx.get(
                    f"{self.url}/sparql", params={"query": "ASK {}"},
                    headers={"Accept": "application/sparql-results+json"}, timeout=1.0,
                )
                if answer.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"virtuoso-t did not answer within {STARTUP_DEADLINE} s:\n{self.output()}"
                )
            time.sleep(0.1)

    def isql(self, sql: str) -> str:
        """Run SQL statements as dba through `isql-vt`; raise with its output on an error."""
        _, isql = virtuoso_binaries()
        done = subprocess.run(
            [isql, f"127.0.0.1:{self.isql_port}", "dba", DBA_PASSWORD, "VERBOSE=OFF",
             "ERRORS=STDOUT", f"EXEC={sql}"],
            capture_output=True, timeout=ISQL_TIMEOUT, check=False, stdin=subprocess.DEVNULL,
        )
        text = (done.stdout + done.stderr).decode(errors="replace")
        if done.returncode != 0 or "*** Error" in text:
            raise RuntimeError(f"isql-vt failed ({done.returncode}):\n{text}\n{self.output()}")
        return text

    def output(self) -> str:
        parts = []
        for path in (self.output_path, self.log_path):
            try:
                parts.append(path.read_text(errors="replace")[-3000:])
            except OSError:
                continue
        return "\n".join(parts) or "(no output)"

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()  # Virtuoso checkpoints and exits on SIGTERM
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def clear(self) -> None:
        """Drop every graph the SPARQL user sees (Virtuoso's private system graphs stay)."""
        answer = httpx.post(
            f"{self.url}/sparql",
            # Without the FILTER, Virtuoso 7.2 lists private graphs' names too.
            data={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER(isIRI(?g)) }"},
            headers={"Accept": "application/sparql-results+json"},
            timeout=30.0,
        )
        answer.raise_for_status()
        graphs = [row["g"]["value"] for row in answer.json()["results"]["bindings"]]
        if graphs:
            update = " ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in graphs)
            httpx.post(f"{self.url}/sparql", data={"update": update},
                       timeout=60.0).raise_for_status()

    def __enter__(self) -> VirtuosoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
