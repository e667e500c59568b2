"""run-report.html from the report's data: one self-contained page, inline SVG charts, no script at all."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

# No script runs, nothing loads from elsewhere: even markup that slipped through escaping stays inert.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dde5;padding-bottom:4px}
h3{font-size:14px;margin:14px 0 6px}
.muted{color:#5b6574}.ok{color:#11703a;font-weight:600}.bad{color:#b3261e;font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{background:#fff;border:1px solid #d8dde5;border-radius:6px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px}
table{border-collapse:collapse;background:#fff;margin:6px 0 12px;width:100%}
td,th{border:1px solid #d8dde5;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}td.n{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:14px}
.wide{grid-template-columns:repeat(auto-fit,minmax(520px,1fr))}ul{margin:0;padding-left:16px}
.id{color:#5b6574}
figure{background:#fff;border:1px solid #d8dde5;border-radius:6px;margin:0;padding:10px}
figcaption{font-weight:600;margin-bottom:6px}
pre{background:#fff;border:1px solid #d8dde5;padding:10px;overflow:auto;max-height:420px;font-size:12px}
code,.id{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
svg text{font:11px system-ui,sans-serif;fill:#1d2430}
"""
COLOURS = ("#3b6fb6", "#d9822b", "#2f9e6e", "#b5446e", "#7a5cc0", "#6b7a8f", "#c9a227", "#1f8a9e")


def esc(value: Any) -> str:
    """Text from the corpus or the run, safe in element content and quoted attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def render(data: dict[str, Any]) -> str:
    sections = [
        _overview(data),
        _dead_letters(data),
        _cleaning(data),
        _entities(data),
        _languages_and_duplicates(data),
        _lengths(data),
        _throughput(data),
        _versions_and_config(data),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>article-enrich run report: {esc(data['title'])}</title><style>{STYLE}</style></head>"
        f"<body><main>{''.join(section for section in sections if section)}</main></body></html>\n"
    )


# ---- sections ------------------------------------------------------------------------------------


def _overview(data: dict[str, Any]) -> str:
    counts = data["counts"]
    ok = data["invariant_ok"]
    invariant = (
        f'<span class="{"ok" if ok else "bad"}">inputs {counts.get("inputs", 0):,} '
        f"{'=' if ok else '≠'} enriched {counts.get('enriched', 0):,} + dead letters "
        f"{counts.get('dead_letter', 0):,}</span>"
    )
    cards = "".join(
        f'<div class="card"><span class="muted">{esc(name.replace("_", " "))}</span><b>{value:,}</b></div>'
        for name, value in counts.items()
        if isinstance(value, int)
    )
    runs = data.get("runs") or []
    runs_note = f"<p>{len(runs)} committed runs: {esc(', '.join(runs))}</p>" if len(runs) > 1 else ""
    outcome = _bar_chart(
        [("enriched", counts.get("enriched", 0)), ("dead letters", counts.get("dead_letter", 0))],
        "Outcome of every input",
    )
    return (
        f'<h1>article-enrich run report</h1><p class="muted">{esc(data["title"])} · status '
        f"<b>{esc(data.get('status'))}</b> · {esc(data.get('started_at'))} → {esc(data.get('finished_at'))}"
        f' · runner {esc(data.get("runner"))}</p>{runs_note}<div class="cards">{cards}</div>'
        f"<p>Invariant: {invariant}; dead-letter ratio {esc(data.get('dead_letter_ratio'))}.</p>"
        f'<div class="grid">{outcome}</div>'
    )


def _dead_letters(data: dict[str, Any]) -> str:
    dead = data["dead_letters"]
    if not dead:
        return "<h2>Dead letters</h2><p>None: every input was enriched.</p>"
    rows = []
    for item in dead:
        examples = "".join(
            f'<li><span class="id">{esc(e["id"])}</span> <code>{esc(e["path"])}</code>: {esc(e["error"])}</li>'
            for e in item["examples"]
        )
        rows.append(
            f"<tr><td>{esc(item['stage'])}</td><td><code>{esc(item['reason'])}</code></td>"
            f'<td class="n">{item["count"]:,}</td><td><ul>{examples}</ul></td></tr>'
        )
    chart = _bar_chart([(f"{d['stage']}: {d['reason']}", d["count"]) for d in dead], "Dead letters by stage and reason")
    return _section("Dead letters", [chart], ("stage", "reason", "count", "examples (id, path, error)"), rows)


def _cleaning(data: dict[str, Any]) -> str:
    kinds = data["cleaning"]
    if not kinds:
        return "<h2>Cleaning</h2><p>Cleaning changed nothing.</p>"
    rows = [
        f'<tr><td><code>{esc(kind)}</code></td><td class="n">{total:,}</td><td class="n">{articles:,}</td></tr>'
        for kind, total, articles in kinds
    ]
    chart = _bar_chart([(kind, articles) for kind, _, articles in kinds], "Articles changed, by kind of change")
    return _section("Cleaning changes by kind", [chart], ("kind", "changes", "articles"), rows)


def _entities(data: dict[str, Any]) -> str:
    labels = data["entity_labels"]
    if not labels:
        return "<h2>Entities</h2><p>No entities were tagged.</p>"
    chart = _bar_chart([(label, mentions) for label, mentions, _ in labels], "Entity mentions by label")
    groups = _bar_chart([(label, n) for label, _, n in labels if n], "Distinct entity groups by label")
    tables = []
    for label, top in data["top_entities"].items():
        rows = [
            f'<tr><td>{esc(e["name"])}</td><td class="n">{e["articles"]:,}</td><td class="n">{e["mentions"]:,}'
            f"</td><td><ul>{''.join(_example(i, t) for i, t in e['examples'])}</ul></td></tr>"
            for e in top
        ]
        tables.append(f"<h3>{esc(label)}</h3>" + _table(("name", "articles", "mentions", "example articles"), rows))
    return (
        _section("Entities", [chart, groups])
        + '<h2>Top entity groups per label <span class="muted">(by articles naming them; from the entity index)'
        f'</span></h2><div class="grid wide">{"".join(f"<div>{t}</div>" for t in tables)}</div>'
    )


def _languages_and_duplicates(data: dict[str, Any]) -> str:
    parts = []
    languages = data.get("languages")
    if languages:
        parts.append(_section("Articles per language", [_bar_chart(languages, "Articles per language")]))
    duplicates = data.get("duplicates")
    if duplicates:
        rows = [
            f'<tr><td class=id>{esc(c["cluster"])}</td><td>{esc(c["kind"])}</td><td class="n">{c["size"]:,}</td>'
            f"<td><ul>{''.join(f'<li><span class=id>{esc(i)}</span> {esc(t)}</li>' for i, t in c['examples'])}"
            "</ul></td></tr>"
            for c in duplicates["clusters"]
        ]
        kinds = _bar_chart(list(duplicates["by_kind"].items()), "Duplicate clusters by kind")
        intro = f"<p>{duplicates['articles']:,} articles in {duplicates['count']:,} clusters.</p>"
        parts.append(_section("Duplicate clusters", [kinds], ("cluster", "kind", "size", "examples"), rows, intro))
    return "".join(parts)


def _lengths(data: dict[str, Any]) -> str:
    lengths = data["lengths"]
    if not lengths["bins"]:
        return ""
    stats = ", ".join(f"{name} {value:,}" for name, value in lengths["stats"].items())
    sample = [
        f'<tr><td class=id>{esc(a["id"])}</td><td>{esc(a["title"])}</td><td class="n">{a["chars"]:,}</td>'
        f'<td class="n">{a["entities"]:,}</td></tr>'
        for a in data.get("sample", [])
    ]
    histogram = _histogram(lengths["bins"], "Articles by text length (characters)")
    intro = f"<p>Characters of cleaned text: {esc(stats)}.</p>"
    return _section("Text length", [histogram], intro=intro) + "<h3>A few articles</h3>" + _table(
        ("id", "title", "characters", "entities"), sample
    )


def _throughput(data: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{esc(name)}</th><td>{esc(value)}</td></tr>" for name, value in data["throughput"].items())
    samples = data.get("progress_samples") or []
    chart = _line_chart(samples, "Inputs read over time (s)") if len(samples) > 1 else ""
    return f'<h2>Throughput and start-up</h2><table>{rows}</table><div class="grid">{chart}</div>'


def _versions_and_config(data: dict[str, Any]) -> str:
    versions = "".join(f"<tr><th>{esc(k)}</th><td>{esc(_flat(v))}</td></tr>" for k, v in data["versions"].items())
    config = data.get("config")
    config_block = (
        f"<h3>Config</h3><pre>{esc(json.dumps(config, indent=2, ensure_ascii=False))}</pre>"
        if config
        else "<p class=muted>The run summary holds no config (written before article-enrich recorded it).</p>"
    )
    return f"<h2>Versions and config</h2><table>{versions}</table>{config_block}"


def _example(article_id: str, title: str | None) -> str:
    return f'<li>{esc(title or "(untitled)")} <span class="id">{esc(article_id)}</span></li>'


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def _section(
    title: str, charts: Sequence[str], headers: Sequence[str] = (), rows: Sequence[str] = (), intro: str = ""
) -> str:
    """A report section: its heading, an introduction, its charts side by side, then its table if it has one."""
    table = _table(headers, rows) if headers else ""
    return f'<h2>{title}</h2>{intro}<div class="grid">{"".join(charts)}</div>{table}'


def _table(headers: Sequence[str], rows: Sequence[str]) -> str:
    head = "".join(f"<th>{header}</th>" for header in headers)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


# ---- charts --------------------------------------------------------------------------------------


def _svg(caption: str, width: int, height: int, body: str) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{esc(caption)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" style="max-width:100%;height:auto" xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )


def _figure(caption: str, svg: str) -> str:
    return f"<figure><figcaption>{esc(caption)}</figcaption>{svg}</figure>"


def _bar_chart(items: Sequence[tuple[str, float]], caption: str, most: int = 15) -> str:
    """Horizontal bars, one per item, largest first."""
    items = sorted(items, key=lambda item: -item[1])[:most]
    if not items:
        return ""
    width, label_w, row = 480, 170, 22
    height = row * len(items) + 8
    top = max(value for _, value in items) or 1
    bars = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = max(1.0, (width - label_w - 70) * value / top)
        bars.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{esc(_clip(label, 26))}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" '
            f'fill="{COLOURS[i % len(COLOURS)]}"><title>{esc(label)}: {value:,}</title></rect>'
            f'<text x="{label_w + w + 5:.1f}" y="{y + 14}">{value:,}</text>'
        )
    return _figure(caption, _svg(caption, width, height, "".join(bars)))


def _histogram(bins: Sequence[tuple[str, int]], caption: str) -> str:
    """Vertical bars over ordered bins."""
    width, height, bottom = 480, 220, 40
    top = max(count for _, count in bins) or 1
    step = (width - 20) / len(bins)
    bars = []
    for i, (label, count) in enumerate(bins):
        h = (height - bottom - 20) * count / top
        x = 10 + i * step
        y = height - bottom - h
        bars.append(
            f'<rect class="bar" x="{x + 2:.1f}" y="{y:.1f}" width="{step - 4:.1f}" height="{h:.1f}" '
            f'fill="{COLOURS[0]}">'
            f"<title>{esc(label)}: {count:,}</title></rect>"
            f'<text x="{x + step / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{count:,}</text>'
            f'<text x="{x + step / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
            f'transform="rotate(30 {x + step / 2:.1f} {height - bottom + 14})">{esc(label)}</text>'
        )
    axis = f'<line x1="8" x2="{width - 8}" y1="{height - bottom}" y2="{height - bottom}" stroke="#8a94a3"/>'
    return _figure(caption, _svg(caption, width, height, axis + "".join(bars)))


def _line_chart(points: Sequence[Sequence[float]], caption: str) -> str:
    """A polyline of (x, y) points from the origin, with the last point's values written at the axes."""
    width, height, pad = 480, 220, 36
    max_x = max(p[0] for p in points) or 1
    max_y = max(p[1] for p in points) or 1
    coords = " ".join(
        f"{pad + (width - 2 * pad) * x / max_x:.1f},{height - pad - (height - 2 * pad) * y / max_y:.1f}"
        for x, y in points
    )
    body = (
        f'<line x1="{pad}" x2="{width - pad}" y1="{height - pad}" y2="{height - pad}" stroke="#8a94a3"/>'
        f'<line x1="{pad}" x2="{pad}" y1="{pad}" y2="{height - pad}" stroke="#8a94a3"/>'
        f'<polyline points="{coords}" fill="none" stroke="{COLOURS[0]}" stroke-width="2"/>'
        f'<text x="{pad + 4}" y="{pad - 6}">{max_y:,.0f}</text>'
        f'<text x="{width - pad}" y="{height - pad + 16}" text-anchor="end">{max_x:,.0f} s</text>'
        f'<text x="{pad}" y="{height - pad + 16}">0</text>'
    )
    return _figure(caption, _svg(caption, width, height, body))


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
