"""Warm grading kernels: each kernel forked from a template that has only imported modules.

A grading kernel spends most of its start importing (Python, ipykernel, pandas, scikit-learn,
mlcicd), the same for every submission. A *template* is a Python process, one per grader process,
that imports a list of modules once and then waits on a Unix socket. For each kernel the sandbox's
light launcher (``python -m mlcicd.course.sandbox --template SOCKET -- KERNEL...``) asks the
template to fork; the child enters the sandbox (cgroup, limits, working folder, environment) and
runs the kernel in-process, with the modules already imported. The template itself never runs
notebook code, so every submission still gets a new process that no other submission touched.

Three parts, all in this module:

* the grader side, :func:`template_socket`: starts the template on first use, stops it at exit;
* the template, :func:`serve` (``python -m mlcicd.course.warm SOCKET MODULE...``): a single-threaded
  ``select`` loop that forks children, reaps them, sends each exit status to its launcher, kills a
  child whose launcher went away, and ends when its grader does;
* the launcher side, :func:`run_forked`: standard library only (it runs in every kernel start).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading

SOCKET_NAME = "s"
START_TIMEOUT = 120  # seconds for the template to import its modules (a loaded machine is slow)
MAX_STARTS = 3  # a template that keeps dying is given up: kernels start the plain way


# --- the launcher side (standard library only) ---------------------------------------------------


def run_forked(
    path: str, argv: list[str], env: dict[str, str], cwd: str, values: dict, group: str
) -> int | None:
    """Have the template at ``path`` fork the kernel ``argv``; its exit code, or None to fall back.

    This process stays the one jupyter_client sees: SIGINT, SIGTERM and SIGHUP are passed on to
    the child. None means the template could not fork (gone, refused): start the kernel plainly.
    """
    request = {"argv": argv, "env": env, "cwd": cwd, "limits": values, "cgroup": group}
    data = json.dumps(request).encode() + b"\n"
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
        sent = socket.send_fds(conn, [data], [0, 1, 2])
        conn.sendall(data[sent:])
        reader = conn.makefile("rb")
        pid = int(json.loads(reader.readline())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        conn.close()
        return None

    def relay(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, relay)
    line = reader.readline()  # the child's wait status, when the template reaps it
    try:
        return os.waitstatus_to_exitcode(int(json.loads(line)["status"]))
    except (ValueError, KeyError, TypeError):
        return 1  # the template died; its children end with it (ipykernel's parent poller)


# --- the template ----------------------------------------------------------------------------


def _preload(modules: list[str]) -> list[str]:
    """Import ``modules``; the names that failed (a kernel imports those the normal way)."""
    import importlib
    import warnings

    failed = []
    for name in modules:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                importlib.import_module(name)
        except Exception:  # any failure only means: not preloaded
            failed.append(name)
    return failed


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def serve(path: str, modules: list[str]) -> None:
    """The template: import ``modules``, then fork kernels on request until the grader ends."""
    grader = os.getppid()
    # as `python -m ipykernel_launcher` does: the working folder is not on the kernel's path
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    skipped = _preload(modules)
    import gc

    gc.collect()
    gc.freeze()  # the children share these pages instead of copying them on their first collection
    if _threads() != 1:  # forking a threaded process is unsafe: refuse, kernels start plainly
        print(f"unsafe: {_threads()} threads after imports", flush=True)
        return
    server = _Server(path)
    print("ready", ",".join(skipped), flush=True)
    server.loop(grader)
    if os.getppid() != grader:  # the grader died without stopping it: remove its folder too
        import shutil

        shutil.rmtree(os.path.dirname(path), ignore_errors=True)


class _Server:
    """The template's loop: one thread, a ``select`` over its sockets, no work but forking."""

    def __init__(self, path: str) -> None:
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(64)
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        self.wake_w = wake_w
        self.stopping: list[int] = []
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.append(1))
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.pending: dict[socket.socket, tuple[bytearray, list[int]]] = {}
        self.launchers: dict[socket.socket, int] = {}  # launcher connection -> its child's pid
        self.children: dict[int, socket.socket | None] = {}

    def loop(self, grader: int) -> None:
        import select

        while not self.stopping and os.getppid() == grader:
            socks: list = [self.listener, self.wake_r, *self.pending, *self.launchers]
            ready, _, _ = select.select(socks, [], [], 0.5)
            for sock in ready:
                if sock is self.listener:
                    conn, _ = self.listener.accept()
                    self.pending[conn] = (bytearray(), [])
                elif sock == self.wake_r:
                    with contextlib.suppress(OSError):
                        os.read(self.wake_r, 512)
                elif sock in self.pending:
                    self._read_request(sock)
                elif sock in self.launchers:
                    self._launcher_gone(sock)
            self._reap()
        for pid in self.children:  # the grader is gone or stops this template: so do the kernels
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        while self.children:
            pid, _ = os.waitpid(-1, 0)
            self.children.pop(pid, None)

    def _read_request(self, sock: socket.socket) -> None:
        buffer, fds = self.pending[sock]
        try:
            data, got, _, _ = socket.recv_fds(sock, 1 << 16, 3)
        except OSError:
            data, got = b"", []
        buffer += data
        fds += got
        if data and b"\n" not in buffer:
            return
        del self.pending[sock]
        if not data:
            for fd in fds:
                os.close(fd)
            sock.close()
            return
        try:
            request = json.loads(bytes(buffer))
        except ValueError:
            request = None
        self._start(sock, request, fds)

    def _launcher_gone(self, sock: socket.socket) -> None:
        """A launcher said something or went away (jupyter_client killed it): kill its child."""
        with contextlib.suppress(OSError):
            sock.recv(64)
        pid = self.launchers.pop(sock)
        sock.close()
        self.children[pid] = None
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)

    def _start(self, conn: socket.socket, request: object, fds: list[int]) -> None:
        error = _refusal(request, len(fds))
        pid = -1
        if not error:
            try:
                pid = os.fork()
            except OSError as exc:
                error = f"fork: {exc}"
        if pid == 0:
            code = 1
            try:
                for sock in (self.listener, *self.pending, *self.launchers, conn):
                    sock.close()
                signal.set_wakeup_fd(-1)
                os.close(self.wake_r)
                os.close(self.wake_w)
                assert isinstance(request, dict)
                code = _child(request, fds)
            except BaseException:  # on the kernel's stderr, as a plain kernel's start would
                import traceback

                traceback.print_exc()
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)
        if error:
            _send(conn, {"error": error})
            conn.close()
            return
        self.children[pid] = conn
        self.launchers[conn] = pid
        _send(conn, {"pid": pid})

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is not None:
                self.launchers.pop(conn, None)
                _send(conn, {"status": status})
                conn.close()


def _refusal(request: object, nfds: int) -> str:
    """Why the template cannot run this request as a forked kernel ('' when it can)."""
    if not isinstance(request, dict) or nfds != 3:
        return "bad request"
    argv = request.get("argv")
    if not isinstance(argv, list) or argv[:3] != [sys.executable, "-m", "ipykernel_launcher"]:
        return "not this interpreter's ipykernel"
    env = request.get("env")
    if not isinstance(env, dict) or env.get("PYTHONPATH", "") != os.environ.get("PYTHONPATH", ""):
        return "a different PYTHONPATH"
    return ""


def _send(conn: socket.socket, message: dict) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(json.dumps(message).encode() + b"\n")


def _child(request: dict, fds: list[int]) -> int:
    """In the forked child: enter the sandbox, look like a fresh interpreter, run the kernel."""
    import importlib.util
    import random
    import tempfile

    from mlcicd.course import sandbox

    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.setsid()  # its own session and process group, like a kernel jupyter_client starts
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    sandbox.enter_sandbox(dict(request["limits"]), request["cgroup"])
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # found again from the kernel's own TMPDIR
    _forget_matplotlib_folders()
    random.seed()  # from os.urandom, as a fresh interpreter does
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    spec = importlib.util.find_spec("ipykernel_launcher")
    sys.argv = [spec.origin if spec and spec.origin else "ipykernel_launcher", *request["argv"][3:]]
    from ipykernel import kernelapp

    code = 0
    try:
        # the kernel's parent is this template: it ends when the template does
        kernelapp.launch_new_instance(parent_handle=os.getppid())
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        import atexit

        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    return code


def _forget_matplotlib_folders() -> None:
    """Make matplotlib find its config and cache folders again, from the kernel's environment.

    matplotlib remembers them on first use (in the template, they are the template's); a kernel
    must use its own, as a fresh one would, so no two kernels share a folder by default.
    """
    mpl = sys.modules.get("matplotlib")
    for name in ("get_configdir", "get_cachedir"):
        func = getattr(mpl, name, None)
        names = getattr(getattr(func, "__code__", None), "co_freevars", ())
        closure = getattr(func, "__closure__", None)
        if "called" in names and closure:
            closure[names.index("called")].cell_contents = False


# --- the grader side -------------------------------------------------------------------------

_templates: dict[tuple, _Template] = {}
_starts: dict[tuple, int] = {}
_starts_registered: list[int] = []
_LOCK = threading.Lock()


class _Template:
    def __init__(self, preload: list[str], env: dict[str, str]) -> None:
        import subprocess
        import tempfile
        from pathlib import Path

        from mlcicd.course.sandbox import scrubbed_env

        self.folder = Path(tempfile.mkdtemp(prefix="mlcicd-warm-"))  # mode 0700
        self.socket = str(self.folder / SOCKET_NAME)
        # the same rules as a kernel's environment, with its own private HOME and TMPDIR
        own = scrubbed_env(env, self.folder)
        own = {k: v for k, v in own.items() if not k.startswith("JPY_")}
        own.pop("MLCICD_SANDBOX_CGROUP", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mlcicd.course.warm", self.socket, *preload],
            env=own,
            cwd=self.folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C at the grader's terminal is not for it
        )
        self.skipped: list[str] = []
        self.ready = self._wait_ready()

    def _wait_ready(self) -> bool:
        import select

        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT)
        line = self.process.stdout.readline().decode() if ready else ""
        if not line.startswith("ready"):
            self.stop()
            return False
        words = line.split()  # "ready", then the modules that failed, comma-separated
        self.skipped = words[1].split(",") if len(words) > 1 else []
        return True

    def alive(self) -> bool:
        return self.ready and self.process.poll() is None and os.path.exists(self.socket)

    def stop(self) -> None:
        import shutil
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()  # it kills the kernels it forked, then ends
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def template_socket(preload: list[str], env: dict[str, str]) -> str | None:
    """The socket of this process's template for ``preload`` (started on first use), or None.

    None (start kernels the plain way) when ``preload`` is empty, the platform cannot fork, or
    the template was started :data:`MAX_STARTS` times since :func:`stop_templates` (it keeps
    dying or failing: the rest of the grading uses plain kernels).
    """
    if not preload or not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
        return None
    key = (os.getpid(), tuple(preload), env.get("PYTHONPATH", ""))
    with _LOCK:
        template = _templates.get(key)
        if template is not None and template.alive():
            return template.socket
        if template is not None:
            template.stop()
            del _templates[key]
        if _starts.get(key, 0) >= MAX_STARTS:
            return None
        _starts[key] = _starts.get(key, 0) + 1
        if os.getpid() not in _starts_registered:
            import atexit

            atexit.register(stop_templates)
            _starts_registered.append(os.getpid())
        template = _Template(list(preload), env)
        if not template.ready:
            return None
        _templates[key] = template
        return template.socket


def template_pids() -> list[int]:
    """The process ids of this process's running templates."""
    return [t.process.pid for key, t in _templates.items() if key[0] == os.getpid() and t.alive()]


def stop_templates() -> None:
    """Stop this process's templates (and any kernel they still run)."""
    for key in [k for k in _templates if k[0] == os.getpid()]:
        _starts.pop(key, None)
        _templates.pop(key).stop()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
