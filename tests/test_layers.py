"""The domain knows nothing of HTTP, wsgidav.yaml is what the server runs, and the
tests keep their own rules: test modules do not import each other, and no test
asserts a duration."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.tools import REPO

HTTP_PACKAGES = {"wsgidav", "werkzeug", "jinja2", "cheroot"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_imports_no_http_library():
    offenders = {}
    for path in (REPO / "gateway").rglob("*.py"):
        if path.name == "server.py" and path.parent.name == "gateway":
            continue  # the composition root
        if path.parent.name == "serving":
            continue  # the serving layer: what the HTTP adapters share
        bad = imported_roots(path) & (HTTP_PACKAGES | {"dav_provider", "webui"})
        if bad:
            offenders[str(path.relative_to(REPO))] = sorted(bad)
    assert offenders == {}


def test_wsgidav_yaml_is_the_running_configuration(config):
    from dav_provider.app import build_dav_app, load_wsgidav_settings

    settings = load_wsgidav_settings()
    assert settings["http_authenticator"]["accept_digest"] is False
    assert settings["dir_browser"]["enable"] is False
    app = build_dav_app(
        config.properties_dir,
        trash_dir=config.trash_dir,
        block_size=config.block_size,
        max_upload_bytes=config.max_upload_bytes,
    )
    assert set(app.provider_map) == {"/dav", "/view"}
    assert app.provider_map["/view"].is_readonly() is True
    assert app.provider_map["/dav"].is_readonly() is False
    assert app.config["block_size"] >= 64 * 1024
    assert app.config["lock_storage"] is not None


# -- the tests' own house ------------------------------------------------------------

TESTS = REPO / "tests"
#: Calls that read a clock; the difference of a reading and an earlier value is a duration.
CLOCK_CALLS = {"monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "time", "time_ns"}


def _imported_modules(tree: ast.AST, package: str) -> set[str]:
    """Dotted names of the modules ``tree`` imports; relative ones resolved against
    ``package``, and ``from package import name`` counted as module ``package.name``."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: from the package, ``level - 1`` steps up
                parts = package.split(".")
                module = ".".join(parts[: len(parts) - node.level + 1] + [module]).strip(".")
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def test_no_test_module_imports_another():
    """Test modules share helpers through helper modules (``tests/tools.py`` and the
    like), never by importing each other: a test module may change or go at any time."""
    offenders = {}
    for path in TESTS.rglob("*.py"):
        package = ".".join(path.relative_to(REPO).parent.parts)
        modules = _imported_modules(ast.parse(path.read_text(encoding="utf-8")), package)
        bad = sorted(m for m in modules if any(p.startswith("test_") for p in m.split(".")))
        if bad:
            offenders[str(path.relative_to(REPO))] = bad
    assert offenders == {}


def _is_clock_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    function = node.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    return name in CLOCK_CALLS


def _is_clock_difference(node: ast.AST) -> bool:
    """``clock() - earlier``: the time since ``earlier``."""
    return (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Sub)
        and any(_is_clock_call(n) for n in ast.walk(node.left))
    )


def _timers(tree: ast.AST) -> set[str]:
    """Functions that return a clock difference."""
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and any(
            isinstance(r, ast.Return) and r.value is not None and _is_clock_difference(r.value)
            for r in ast.walk(node)
        )
    }


def _duration_names(tree: ast.AST, timers: set[str]) -> set[str]:
    """Names that hold durations: assigned a clock difference, a timer's result, or
    something made of durations (``median(times)``), or lists appended with them."""
    names: set[str] = set()

    def is_duration(value: ast.AST) -> bool:
        return any(
            _is_clock_difference(n)
            or (isinstance(n, ast.Call) and getattr(n.func, "id", None) in timers)
            or (isinstance(n, ast.Name) and n.id in names)
            for n in ast.walk(value)
        )

    while True:
        before = len(names)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and is_duration(node.value):
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "append"
                and isinstance(node.func.value, ast.Name)
                and any(is_duration(arg) for arg in node.args)
            ):
                names.add(node.func.value.id)
        if len(names) == before:
            return names


def duration_asserts(source: str) -> list[int]:
    """Lines of ``assert`` statements that compare a duration. A heuristic: it follows
    clock differences through names, timer functions, lists and calls in one module."""
    tree = ast.parse(source)
    timers = _timers(tree)
    durations = _duration_names(tree, timers)
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assert):
            continue
        called = {id(n.func) for n in ast.walk(node.test) if isinstance(n, ast.Call)}
        for compare in (n for n in ast.walk(node.test) if isinstance(n, ast.Compare)):
            for part in ast.walk(compare):
                named = (
                    isinstance(part, ast.Name)
                    and id(part) not in called
                    and (part.id in durations or "elapsed" in part.id or "duration" in part.id)
                )
                timed = isinstance(part, ast.Call) and getattr(part.func, "id", None) in timers
                if named or timed or _is_clock_difference(part):
                    lines.append(node.lineno)
                    break
    return sorted(set(lines))


def test_no_test_asserts_a_duration():
    """How fast something is belongs in ``bench/``; a test asserts what happens, with
    deadlines (``tests.tools.wait_until``) that only catch hangs."""
    offenders = {}
    for path in TESTS.rglob("*.py"):
        lines = duration_asserts(path.read_text(encoding="utf-8"))
        if lines:
            offenders[str(path.relative_to(REPO))] = lines
    assert offenders == {}


def test_the_duration_check_finds_what_it_looks_for():
    timed = """
import time
def _seconds():
    started = time.perf_counter()
    return time.perf_counter() - started
def test_a():
    started = time.monotonic()
    assert time.monotonic() - started < 30
def test_b():
    took = time.monotonic() - started
    assert took < 2
def test_c():
    cuts = [_seconds() for _ in range(3)]
    assert max(cuts) < 2.5
def test_d():
    assert elapsed_s > 0.25 * other
def test_e():
    times = []
    times.append(_seconds())
    typical = statistics.median(times)
    assert typical < 1
    assert _seconds() < 2
"""
    assert duration_asserts(timed) == [8, 11, 14, 16, 21, 22]
    deadlines = """
import time
def test_f():
    deadline = time.monotonic() + 30
    assert time.monotonic() < deadline
    remaining = deadline - time.monotonic()
    assert remaining > 0
"""
    assert duration_asserts(deadlines) == []
