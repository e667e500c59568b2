"""run-report.html in a real browser: headless Chromium renders it, runs no script, draws the charts."""

from __future__ import annotations

import html.parser
import shutil
import subprocess

import pytest

from pipeline.report_html import render

from .test_report import hostile_report_data

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


class _Dom(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title" and not self.title  # the page's title, not an SVG tooltip

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag):
        self._in_title = False


def test_chromium_renders_the_charts_and_runs_no_script(tmp_path):
    report = tmp_path / "run-report.html"
    report.write_text(render(hostile_report_data()), encoding="utf-8")
    dumped = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    console = [line for line in dumped.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []  # no script error, no refused script or resource
    dom = _Dom()
    dom.feed(dumped.stdout)
    tags = [tag for tag, _ in dom.tags]
    assert tags.count("svg") >= 3 and tags.count("rect") >= 6
    assert "script" not in tags and "img" not in tags
    assert dom.title == "article-enrich run report: /out" and not any("data-pwned" in attrs for _, attrs in dom.tags)
    assert "&lt;script&gt;" in dumped.stdout
