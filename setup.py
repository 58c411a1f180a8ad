"""Packaging of immoshare: console script ``immoshare``, extras ``test`` and ``postgres``."""

import os
from pathlib import Path

from setuptools import find_packages, setup

PACKAGES = ("gateway", "dav_provider", "webui")


def package_data(package: str) -> list[str]:
    """Every file in the package's folder that is not Python: templates, static files and
    ``gateway/shipped/`` (symbolic links to ``config/`` and ``wsgidav.yaml``; the wheel
    gets their content). Found, not listed, so that a new file cannot be left out."""
    found = []
    for folder, subfolders, names in os.walk(package):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        found += [
            os.path.relpath(os.path.join(folder, name), package)
            for name in names
            if not name.endswith((".py", ".pyc"))
        ]
    return sorted(found)


setup(
    name="immoshare",
    version="0.1.0",
    description="Self-hosted document-share gateway for real-estate agents: WebDAV shares, "
    "personal contact links, consent and access tracking",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=[f"{p}{tail}" for p in PACKAGES for tail in ("", ".*")]),
    package_data={package: package_data(package) for package in PACKAGES},
    install_requires=[
        "wsgidav>=4.4,<4.5",  # we subclass its provider classes; 4.4 has security fixes
        "cheroot>=11.1,<12",
        "peewee>=3.17",
        "jinja2>=3.1.4",
        "watchdog>=4.0",
        "click>=8.1.7",
        "PyYAML>=6.0.1",
        "argon2-cffi>=23.1",
        "werkzeug>=3.0.3",
        "lxml>=5.2",
        "Pillow>=10.3",
        "pypdfium2>=4.30",
        "fpdf2>=2.8",  # the Nachweis and the consent texts as PDF, text not images
        "python-docx>=1.1",  # render: offer templates as Word documents
        "markdown-it-py>=3.0",  # consent texts: a safe subset of Markdown, no raw HTML
    ],
    extras_require={
        "postgres": ["psycopg2-binary>=2.9.9", "redis>=5.0"],
        "test": [
            "pytest>=8.2",
            "pytest-timeout>=2.3",
            "requests>=2.32",
            "playwright>=1.44",
            "aiosmtpd>=1.4.6",
            "axe-playwright-python>=0.1.4",  # axe-core for the contact page's a11y check
            "hypothesis>=6.100",
            "ruff>=0.5",
            "openapi-core>=0.19",  # every /api/v1/ response checked against openapi.json
            "pytest-xdist>=3.6",
        ],
    },
    entry_points={"console_scripts": ["immoshare=gateway.cli:cli"]},
)
