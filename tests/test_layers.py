"""Which of our packages each layer may import, checked on every module; wsgidav.yaml
is what the server runs; and the tests keep their own rules: test modules do not
import each other, and no test asserts a duration.

The layers (README, "Development"): the **domain** in the middle (``gateway/*.py``,
``gateway/services/``, ``gateway/shipped/``) knows nothing of HTTP; **serving**
(``gateway/serving/``) is what both HTTP adapters share; the adapters **dav**
(``dav_provider/``), **web** (``webui/``) and **cli** (``gateway/cli/``) call the
domain and never each other; ``gateway/server.py`` is the **composition root**, the
one place that builds the whole stack. ``gateway/demo.py`` (the real server on a
throw-away home) and ``gateway/__main__.py`` (``python -m gateway``) belong to the
composition too: they wire the layers together, and of the layers only the CLI module
of ``serve`` and ``demo`` reaches them. The table is written by package prefixes, so
modules that move between packages are judged by where they end up.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.tools import REPO

DOMAIN, SERVING, COMPOSITION = "domain", "serving", "composition"
DAV, WEB, CLI = "dav", "web", "cli"

#: Module name prefixes of each layer; the longest match wins (``gateway.serving``
#: before ``gateway``).
LAYER_PREFIXES = {
    "gateway.server": COMPOSITION,
    "gateway.demo": COMPOSITION,
    "gateway.__main__": COMPOSITION,
    "gateway.serving": SERVING,
    "gateway.cli": CLI,
    "gateway": DOMAIN,
    "dav_provider": DAV,
    "webui": WEB,
}

#: Which layers a module of each layer may import.
MAY_IMPORT = {
    DOMAIN: {DOMAIN},
    SERVING: {DOMAIN, SERVING},
    DAV: {DOMAIN, SERVING, DAV},
    WEB: {DOMAIN, SERVING, WEB},
    CLI: {DOMAIN, CLI},
    COMPOSITION: {DOMAIN, SERVING, DAV, WEB, CLI, COMPOSITION},
}

#: The one CLI module that may reach the composition: ``serve`` and ``demo`` start
#: the server (``gateway.server``, ``gateway.demo``).
CLI_MODULE_THAT_SERVES = "gateway.cli.admin"

#: Third-party HTTP packages: only where HTTP is spoken.
HTTP_PACKAGES = {"wsgidav", "werkzeug", "jinja2", "cheroot"}
MAY_USE_HTTP = {SERVING, DAV, WEB, COMPOSITION}

OUR_PACKAGES = ("gateway", "dav_provider", "webui")


def module_name(path: Path, root: Path = REPO) -> str:
    """``webui/app.py`` -> ``webui.app``; a package keeps its ``__init__`` so that its
    relative imports resolve against the package itself."""
    return ".".join(path.relative_to(root).with_suffix("").parts)


def layer_of(module: str) -> str | None:
    """The layer of one of our modules, None for anything else."""
    for prefix in sorted(LAYER_PREFIXES, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LAYER_PREFIXES[prefix]
    return None


def imported_modules(source: str, module: str) -> set[str]:
    """Every module ``source`` imports; ``from m import n`` gives ``m.n`` (a submodule
    or a name in ``m``: :func:`_importable_part` tells). Relative imports are
    resolved against ``module``."""
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            imported |= {f"{name}.{alias.name}" for alias in node.names}
    return imported


def violations(module: str, source: str) -> set[tuple[str, str]]:
    """``(module, imported)`` pairs of ``source`` that the table forbids."""
    layer = layer_of(module)
    if layer is None:
        return set()
    found = set()
    for name in imported_modules(source, module):
        root = name.split(".")[0]
        if root in HTTP_PACKAGES:
            if layer not in MAY_USE_HTTP:
                found.add((module, root))
            continue
        target = layer_of(name)
        if target is None or target in MAY_IMPORT[layer]:
            continue
        if layer == CLI and module == CLI_MODULE_THAT_SERVES and target == COMPOSITION:
            continue
        found.add((module, _importable_part(name)))
    return found


def _importable_part(name: str) -> str:
    """``from gateway.edge import Edge`` names ``gateway.edge.Edge``: report the module."""
    parts = name.split(".")
    while len(parts) > 1 and not _exists(parts):
        parts.pop()
    return ".".join(parts)


def _exists(parts: list[str]) -> bool:
    path = REPO.joinpath(*parts)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def our_modules(root: Path = REPO):
    for package in OUR_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            yield module_name(path, root), path


def tree_violations(root: Path = REPO) -> set[tuple[str, str]]:
    found = set()
    for module, path in our_modules(root):
        found |= violations(module, path.read_text(encoding="utf-8"))
    return found


def test_every_module_imports_only_what_its_layer_may():
    assert tree_violations() == set()


def test_every_module_has_a_layer():
    assert [m for m, _ in our_modules() if layer_of(m) is None] == []


def test_the_check_catches_an_adapter_importing_the_other():
    """The check itself: a web module that imports the WebDAV adapter fails it, in
    every spelling of the import."""
    for source in (
        "import dav_provider\n",
        "from dav_provider.paths import split_path\n",
        "from dav_provider import paths\n",
        "def lazy():\n    import dav_provider.fast_get\n",
    ):
        assert violations("webui.made_up", source), source
    assert violations("dav_provider.made_up", "from webui import share\n")
    assert violations("webui.made_up", "from .tree import entries\n") == set()
    assert violations("webui.__init__", "from .app import build_web_app\n") == set()


def test_the_check_catches_the_domain_reaching_out():
    assert violations("gateway.services.made_up", "from gateway.serving import edge\n")
    assert violations("gateway.made_up", "import webui.app\n")
    assert violations("gateway.made_up", "from cheroot import wsgi\n")
    assert violations("gateway.services.made_up", "from . import tracking\n") == set()
    assert violations("gateway.cli.made_up", "from gateway.server import serve\n")
    assert violations("gateway.cli.admin", "from gateway.server import serve\n") == set()
    assert violations("gateway.cli.admin", "from dav_provider import app\n")
    assert violations("gateway.serving.made_up", "from werkzeug import Request\n") == set()
    assert violations("gateway.serving.made_up", "import webui\n")


def test_the_check_finds_a_forbidden_import_in_a_file_of_a_tree(tmp_path):
    """The walk over files: a web module written with ``import dav_provider`` into a
    tree is found, with its module name."""
    for package in OUR_PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "webui" / "bad.py").write_text('"""Bad."""\n\nimport dav_provider\n')
    (tmp_path / "webui" / "good.py").write_text("from gateway import urls\n")
    assert tree_violations(tmp_path) == {("webui.bad", "dav_provider")}


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
