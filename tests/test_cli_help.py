"""The help reads like a table of contents, and every example in it runs as printed."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import docx
import pytest
from click.testing import CliRunner
from PIL import Image

from gateway.cli import cli as root
from gateway.services import trash
from gateway.services.home import init_home, open_home
from tests.openimmo_exports import sample_listings, write_export
from tests.tools import free_port

#: Examples that are not run, by command, and why.
NOT_RUN = {
    "serve": "serves until stopped; tests/test_server.py starts it for real",
    "demo": "serves until stopped; tests/test_demo.py starts it for real",
}
#: Exit codes an example may end with besides 0, by command, and why.
ALSO_ACCEPTED = {
    "doctor": ({1}, "in a fresh home it finds faults (no server, no API key): that is its answer"),
    "webhook test": ({1}, "nothing listens at the example's receiver: the failure is its answer"),
}
#: What each example needs in its fresh home first: immoshare arguments or files.
BASE = [
    ["property", "add", "obj-17", "--title", "Musterstraße 5, 90402 Nürnberg"],
    ["contact", "add", "4711", "--name", "Erika Muster", "--email", "erika@example.de"],
    ["grant", "obj-17", "4711"],
]


def deleted_by_an_agent(home: Path) -> None:
    """What an agent's WebDAV DELETE of a file and a folder leaves in the trash."""
    config = open_home(home)
    plans = config.properties_dir / "obj-17" / "Grundrisse"
    plans.mkdir(parents=True)
    (plans / "EG.pdf").write_bytes(b"%PDF-1.4 EG")
    bin_ = trash.trash_bin(config)
    trash.move_to_trash(bin_, "obj-17", "Grundrisse/EG.pdf", agent="anna")
    trash.move_to_trash(bin_, "obj-17", "Grundrisse", agent="anna")


def mail_to_a_folder(home: Path) -> None:
    """Mail set up, as a pickup folder: ``grant --send`` has somewhere to send to."""
    with open(home / "immoshare.yaml", "a", encoding="utf-8") as fh:
        fh.write("mail_dir: mailbox\n")


SETUP: dict[str, list] = {
    "agent remove": [["agent", "add", "ben"]],
    "agent set": [["agent", "add", "anna"]],
    "apikey revoke": [["apikey", "create", "crm"]],
    "branding set": ["logo.png"],
    "consent set": ["widerrufsbelehrung.txt", "agb-2026.txt"],
    "contact erase": BASE,
    "contact export": BASE,
    "contact set": BASE,
    "doctor": BASE,
    "grant": BASE[:2] + [mail_to_a_folder],
    "link": BASE,
    "preview": BASE[:1],
    "property remove": BASE[:1],
    "property show": BASE,
    "render": BASE + ["angebot.html", "angebot.docx"],
    "import openimmo": ["export.zip"],
    "report": BASE,
    "revoke": BASE,
    "tracking show": BASE,
    "trash list": BASE[:1],
    "trash restore": BASE[:1] + [deleted_by_an_agent],
    "users": BASE,
    "webhook remove": [["webhook", "add", "https://crm.example.de/hook"]],
    "webhook test": [["webhook", "add", "http://127.0.0.1:9/hook"]],
}


def walk(group: click.Group, path: tuple[str, ...] = ()):
    """Every command of the tree with its path, groups included."""
    ctx = click.Context(group, info_name="immoshare")
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield path + (name,), command
        if isinstance(command, click.Group):
            yield from walk(command, path + (name,))


def groups() -> list[tuple[str, ...]]:
    return [()] + [path for path, command in walk(root) if isinstance(command, click.Group)]


def example_lines(help_text: str) -> list[str]:
    """The command lines of a help text's ``Example:`` block, continuations joined."""
    lines = help_text.split("Example:", 1)[1].splitlines()
    joined, current = [], ""
    for line in lines:
        if line.strip() in ("", "\b"):
            if joined or current:
                break
            continue
        current += line.strip()
        if current.endswith("\\"):
            current = current[:-1].rstrip() + " "
            continue
        joined.append(current)
        current = ""
    return joined


def examples() -> list[tuple[str, list[str]]]:
    found = [("immoshare", example_lines(root.help))]
    for path, command in walk(root):
        if command.help and "Example:" in command.help:
            found.append((" ".join(path), example_lines(command.help)))
    return found


def test_every_command_and_group_is_walked():
    names = {" ".join(path) for path, _ in walk(root)}
    assert {"doctor", "contact set", "tracking show", "agent add"} <= names
    leaves = [" ".join(p) for p, c in walk(root) if not isinstance(c, click.Group)]
    assert set(leaves) <= {name for name, _ in examples()}, "a command without Example:"
    assert set(NOT_RUN) | set(ALSO_ACCEPTED) | set(SETUP) <= set(leaves)


@pytest.mark.parametrize("group", groups(), ids=lambda path: " ".join(path) or "immoshare")
def test_no_summary_is_cut(group):
    result = CliRunner().invoke(root, [*group, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    listing = result.output.split("Commands:", 1)[1]
    for line in listing.splitlines():
        assert not line.rstrip().endswith("..."), line
        assert line.count("(") == line.count(")"), f"summary cut inside brackets: {line}"


def make_file(folder: Path, name: str) -> None:
    target = folder / name
    if name.endswith(".png"):
        Image.new("RGB", (120, 40), "navy").save(target, "PNG")
    elif name.endswith(".zip"):
        write_export(target, sample_listings())
    elif name.endswith(".docx"):
        letter = docx.Document()
        letter.add_paragraph("Ihre Unterlagen: {Feld:OImmoCloudLink}")
        letter.save(target)
    elif name.endswith(".html"):
        target.write_text(
            "<p>Ihre Unterlagen: <a href='{Feld:OImmoCloudLink}'>Link</a></p>", encoding="utf-8"
        )
    else:
        target.write_text(f"{name}\n\nText der Muster Immobilien GmbH.\n", encoding="utf-8")


class ExampleShell:
    """Runs one example line through CliRunner the way a POSIX shell would: an
    ``echo '...' |`` feeds stdin, ``>``, ``>>`` and ``2>`` redirect into files of
    the working folder, ``"$(cat FILE)"`` is the file's content. Anything else is
    refused, so a new construct in an example needs a line here."""

    def __init__(self, home: Path, folder: Path):
        self.home = home
        self.folder = folder
        self.runner = CliRunner()
        self.env = {"IMMOSHARE_HOME": str(home), "IMMOSHARE_PORT": str(free_port())}

    def invoke(self, args: list[str], stdin: str | None = None):
        return self.runner.invoke(root, args, input=stdin, env=self.env)

    def run(self, line: str):
        line = re.sub(r'"\$\(cat (\S+)\)"', lambda m: shlex.quote(self._cat(m[1])), line)
        words = shlex.split(line.replace("/srv/immoshare", str(self.home)))
        stdin = None
        if "|" in words:
            pipe = words.index("|")
            assert words[:1] == ["echo"] and pipe == 2, f"unsupported pipe: {line}"
            stdin, words = words[1] + "\n", words[pipe + 1 :]
        redirects = {}
        while len(words) > 2 and words[-2] in (">", ">>", "2>"):
            redirects[words[-2]] = self.folder / words[-1]
            words = words[:-2]
        assert words[0] == "immoshare", f"not an immoshare command: {line}"
        assert not {"|", ">", "<", "&&", ";"} & set(words), f"unsupported shell: {line}"
        result = self.invoke(words[1:], stdin)
        for operator, target in redirects.items():
            data = result.stderr if operator == "2>" else result.stdout
            with open(target, "a" if operator == ">>" else "w", encoding="utf-8") as fh:
                fh.write(data)
        return result, redirects

    def _cat(self, name: str) -> str:
        path = self.folder / name
        return path.read_text(encoding="utf-8").strip() if path.exists() else ""


def examples_to_run() -> list[tuple[str, list[str]]]:
    """Every example but those of :data:`NOT_RUN`, which other tests start for real."""
    return [(name, lines) for name, lines in examples() if name not in NOT_RUN]


def test_the_examples_not_run_here_exist():
    assert set(NOT_RUN) <= {name for name, lines in examples() if lines}


@pytest.mark.parametrize(
    "command,lines", examples_to_run(), ids=[name for name, _ in examples_to_run()]
)
def test_every_example_runs_as_printed(command, lines, tmp_path, monkeypatch):
    assert lines, f"{command}: empty Example block"
    home, folder = tmp_path / "home", tmp_path / "work"
    init_home(home)
    folder.mkdir()
    monkeypatch.chdir(folder)
    shell = ExampleShell(home, folder)
    for step in SETUP.get(command, []):
        if isinstance(step, str):
            make_file(folder, step)
        elif callable(step):
            step(home)
        else:
            assert shell.invoke(step).exit_code == 0, step
    accepted = {0} | ALSO_ACCEPTED.get(command, (set(), ""))[0]
    for line in lines:
        result, redirects = shell.run(line)
        assert result.exit_code in accepted, f"{line}\n{result.output}"
        assert "Traceback" not in result.output and "Usage:" not in result.output, line
        for target in redirects.values():
            assert target.exists(), f"{line}: {target.name} not written"
