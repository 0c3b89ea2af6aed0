"""Starting Spark's JVM from a process that runs gRPC (the ranker worker, the tests).

pyspark's own `launch_gateway` starts `spark-submit` with a `preexec_fn`, which makes
CPython fork() instead of vfork() and run Python in the child before exec. In a process
with gRPC's threads that child can die before exec (gRPC's fork handlers run in it: "Other
threads are currently calling into gRPC, skipping fork() handlers"), and pyspark then
reports only JAVA_GATEWAY_EXITED. So the JVM is started here the way pyspark starts it,
minus the preexec_fn: `start_new_session` keeps a terminal's Ctrl-C from the JVM, which
was all the preexec_fn did, and runs no Python in the child. pyspark then connects to it
through its documented PYSPARK_GATEWAY_PORT / PYSPARK_GATEWAY_SECRET route.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark import SparkConf

_ENV_LOCK = threading.Lock()
START_TIMEOUT_S = 120.0


def require_java() -> str:
    """The java Spark will start (JAVA_HOME's, else the PATH's), or a clear error: without
    one, pyspark only says that its gateway exited."""
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        where = f"JAVA_HOME={java_home}" if java_home else "PATH"
        raise RuntimeError(
            f"Spark needs a Java 17+ runtime and none was found on {where}: "
            "install openjdk-17-jre-headless (`make venv` does)"
        )
    return java


def java_version(java: str) -> str:
    """What `java -version` prints (or why it could not run), on one line."""
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"`{java} -version` failed: {err}"
    said = " ".join((done.stderr + done.stdout).split())
    return f"`java -version` exited {done.returncode}: {said}"


def submit_command(conf: SparkConf) -> list[str]:
    """spark-submit with the session's settings, as pyspark builds it."""
    from pyspark.find_spark_home import _find_spark_home

    command = [os.path.join(_find_spark_home(), "bin", "spark-submit")]
    for key, value in conf.getAll():
        command += ["--conf", f"{key}={value}"]
    return command + shlex.split(os.environ.get("PYSPARK_SUBMIT_ARGS", "pyspark-shell"))


def _read_connection(path: str) -> tuple[int, str]:
    from pyspark.serializers import UTF8Deserializer, read_int

    with open(path, "rb") as info:
        return read_int(info), UTF8Deserializer().loads(info)


def _wait_for(path: str, proc: subprocess.Popen[bytes], java: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while proc.poll() is None and not os.path.isfile(path):
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"Spark's JVM ({java}) did not start in {START_TIMEOUT_S:.0f} s")
        time.sleep(0.05)
    if not os.path.isfile(path):
        raise RuntimeError(f"Spark's JVM exited at start with status {proc.returncode} "
                           f"({java}): {java_version(java)}")


def start_gateway(conf: SparkConf) -> Any:
    """A py4j gateway to a freshly started Spark JVM, for `SparkContext(gateway=...)`."""
    from pyspark.java_gateway import launch_gateway

    java = require_java()
    with tempfile.TemporaryDirectory(prefix="juke-spark-") as folder:
        path = os.path.join(folder, "connection")
        env = {**os.environ, "SPARK_CONNECT_MODE": "0", "_PYSPARK_DRIVER_CONN_INFO_PATH": path}
        # stdin is a pipe so that the JVM exits when this process does (pyspark's way).
        proc = subprocess.Popen(submit_command(conf), stdin=subprocess.PIPE, env=env,
                                start_new_session=True)
        _wait_for(path, proc, java)
        port, secret = _read_connection(path)
    with _ENV_LOCK:
        saved = {k: os.environ.get(k) for k in ("PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET")}
        os.environ["PYSPARK_GATEWAY_PORT"], os.environ["PYSPARK_GATEWAY_SECRET"] = str(port), secret
        try:
            gateway = launch_gateway(conf)  # connects and imports; starts nothing
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    gateway.proc = proc  # held, as pyspark holds it: the pipe keeps the JVM alive
    return gateway
