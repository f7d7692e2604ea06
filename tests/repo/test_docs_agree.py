"""The docs agree with the code and with each other, where checking is cheap (issue 26 item 3).

docs/configuration.md lists every variable of `.env.example`, `config.py` and `gunicorn.conf.py`,
and each default it quotes is the one `config.py` applies (read in a fresh process with no `.env`
and none of the variables set); values the docs quote from configuration (the 429 message,
TRUSTED_PROXIES on Elastic Beanstalk) match the code; files, `flask` commands and `make` targets
the docs name exist.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import click
import pytest

from tests.support.paths import ROOT

DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()


def env_example() -> dict[str, str]:
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", (ROOT / ".env.example").read_text(), re.MULTILINE))


def variables_read() -> set[str]:
    """Every variable config.py and gunicorn.conf.py read, by any of their helpers."""
    reads = r'(?:_int|_float|_flag|_day|_list|environ\.get|getenv|environ\[)\(\s*"([A-Z][A-Z0-9_]*)"'
    found = set(re.findall(reads, (ROOT / "config.py").read_text()))
    found |= set(re.findall(reads, (ROOT / "gunicorn.conf.py").read_text()))
    found |= set(re.findall(r'environ\["([A-Z][A-Z0-9_]*)"\]', (ROOT / "config.py").read_text()))
    # Read through database_url(environ) rather than a helper call with a literal name:
    found |= set(re.findall(r'"(RDS_[A-Z_]+)"', (ROOT / "config.py").read_text()))
    return found - {"FLASK_RUN_FROM_CLI"}  # set by Flask's own CLI, not a setting


def table_rows() -> dict[str, str]:
    """Variable -> its default cell, from every `| `VAR` | meaning | default |` row."""
    rows: dict[str, str] = {}
    for line in CONFIGURATION.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([A-Z][A-Z0-9_]*)`", cells[0]) if len(cells) == 3 else None
        if match:
            assert match.group(1) not in rows, f"{match.group(1)} has two rows"
            rows[match.group(1)] = cells[2]
    return rows


def test_configuration_lists_every_variable_once():
    documented = set(table_rows())
    assert set(env_example()) - documented == set()
    assert variables_read() - documented == set()
    # And nothing that no longer exists.
    assert documented - set(env_example()) - variables_read() == set()


def test_env_example_has_every_variable_the_code_reads():
    assert variables_read() - set(env_example()) == set()


@pytest.fixture(scope="module")
def config_defaults() -> dict[str, object]:
    """Config's attributes with none of the documented variables set and no `.env` read."""
    script = (
        "import json, dotenv; dotenv.load_dotenv = lambda *a, **k: False\n"
        "import config\n"
        "print(json.dumps({k: v for k, v in vars(config.Config).items() if k.isupper()}, default=str))"
    )
    env = {key: value for key, value in os.environ.items() if key not in table_rows()}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout)


def as_setting(text: str) -> object:
    """A default as the docs and .env.example spell it, in config.py's types."""
    if text in ("on", "off"):
        return text == "on"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    return text


def test_quoted_defaults_are_the_ones_config_applies(config_defaults):
    checked = []
    for variable, cell in table_rows().items():
        literal = re.match(r"`([^`]*)`", cell)
        if variable not in config_defaults or not literal:
            continue
        expected = config_defaults[variable]
        if isinstance(expected, list):  # USD_QUOTES, CORS_ORIGINS: comma-separated lists
            expected = ",".join(expected)
        assert as_setting(literal.group(1)) == expected, variable
        example = env_example().get(variable, "")
        if example:
            assert as_setting(example) == expected, f".env.example {variable}"
        checked.append(variable)
    assert len(checked) >= 35  # the check reaches most of the table, not a handful


def test_the_429_quoted_in_security_md_is_the_one_sent():
    """Flask-Limiter's parser spells the window in the singular: "10 per 5 minute"."""
    from api.access.login_throttle import Rule
    from config import Config

    rule = Rule.parse("pair", Config.RATELIMIT_AUTH_FAILURES)
    sent = f"Rate limit exceeded ({rule.text}); retry after the Retry-After seconds"
    security = " ".join((ROOT / "docs" / "security.md").read_text().split())
    quoted = re.findall(r'\{"detail": "(Rate limit exceeded[^"]*)"\}', security)
    assert quoted and all(text == sent for text in quoted), (quoted, sent)


def test_trusted_proxies_on_elastic_beanstalk_agree():
    eb = re.search(r'TRUSTED_PROXIES: "(\d+)"', (ROOT / ".ebextensions" / "01_environment.config").read_text())
    assert eb
    for doc in DOCS:
        text = " ".join(doc.read_text().split())
        for match in re.finditer(r"TRUSTED_PROXIES=(\d+)", text):
            around = text[max(0, match.start() - 120) : match.end() + 120]
            if re.search(r"Elastic Beanstalk|\bEB\b|AWS load balancer", around) and "one proxy" not in around:
                assert match.group(1) == eb.group(1), f"{doc.name}: ...{around}..."


PATH = re.compile(
    r"`((?:api|utilities|serving|tests|deploy|migrations|data|bench|postman|docs|\.ebextensions|\.platform)"
    r"/[\w./-]*[\w/])(?:::[\w\[\]-]+)?`"
)


def test_files_named_in_the_docs_exist():
    missing = []
    for doc in DOCS:
        for path in PATH.findall(doc.read_text()):
            if "*" not in path and not (ROOT / path).exists():
                missing.append(f"{doc.name}: {path}")
    assert missing == []


def test_flask_commands_named_in_the_docs_exist(app):
    context = click.Context(app.cli)
    missing = []
    for doc in DOCS:
        for words in re.findall(r"`flask ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)", doc.read_text()):
            group_name, _, sub = words.partition(" ")
            if group_name in ("shell", "run", "routes"):  # Flask's own
                continue
            group = app.cli.get_command(context, group_name)
            if group is None:
                missing.append(f"{doc.name}: flask {group_name}")
            elif isinstance(group, click.Group) and sub and group.get_command(context, sub) is None:
                missing.append(f"{doc.name}: flask {words}")
    assert missing == []


def test_make_targets_named_in_the_docs_exist():
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    named = {target for doc in DOCS for target in re.findall(r"`make ([a-z][\w-]*)", doc.read_text())}
    assert named - targets == set()


def test_the_readme_tour_writes_only_to_a_coin_of_its_own_and_removes_it():
    """Before: the tour wrote a BTC candle for 2021-07-07, which changed what everything after it showed."""
    import zipfile

    from config import BUNDLED_CSV

    with zipfile.ZipFile(BUNDLED_CSV) as archive:
        bundled = {name.rsplit("coin_", 1)[-1].removesuffix(".csv").upper() for name in archive.namelist()}
        bundled |= {line.split(",")[2].upper() for name in archive.namelist() for line in
                    archive.read(name).decode().splitlines()[1:2]}  # fmt: skip
    tour = (ROOT / "README.md").read_text().split("## A quick tour", 1)[1].split("```", 2)[1]
    written = set(re.findall(r"-X (?:PUT|POST|DELETE) \S*/currencies/([A-Za-z0-9]+)/records", tour))
    created = {symbol.upper() for symbol in re.findall(r'"symbol": "([A-Za-z0-9]+)"', tour)}
    deleted = {symbol.upper() for symbol in re.findall(r"-X DELETE \S*/currencies/([A-Za-z0-9]+)(?:\s|$)", tour)}
    assert written and {symbol.upper() for symbol in written} <= created  # only its own coin
    assert not created & bundled
    assert created <= deleted  # and it cleans up
