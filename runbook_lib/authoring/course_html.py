"""The course's own HTML: the index (with the end-state diagram), the glossary page, the
navigation bar and the block that opens each runbook's page. Nothing here loads a resource:
styles are inline, the diagram is inline SVG, images are files next to the pages."""

from __future__ import annotations

import html

from runbook_lib.authoring.course import Course, CoursePage

_NAV_STYLE = (
    "display:flex;flex-wrap:wrap;gap:2em;padding:0.6em 1em;margin:0 0 1em;"
    "border-bottom:1px solid #ccc;font-family:sans-serif;font-size:0.95em"
)

_CSS = """
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em;
       line-height: 1.5; color: #222; }
ol { padding-left: 1.2em; } li { margin-bottom: 1.2em; } h2 { margin-bottom: 0.2em; }
code { background: #f3f3f3; padding: 0 0.2em; }
dt { font-weight: bold; margin-top: 1em; } dd { margin-left: 1.5em; }
figure.end-state-figure svg { max-width: 100%; height: auto; }
pre { background: #f3f3f3; padding: 0.6em; overflow-x: auto; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 0.3em 0.6em; }
"""

_WHY_STYLE = (
    "max-width:60em;margin:0 auto 1.5em;padding:0.8em 1.2em;border-left:4px solid #1f5fae;"
    "background:#f5f8fd;font-family:sans-serif;line-height:1.5"
)

#: the lab template colours links like text: the course's own links must look like links
_WHY_CSS = (
    ".runbook-why a, .runbook-nav a { color: #1f5fae; text-decoration: underline; } "
    ".runbook-why figure.end-state-figure svg { max-width: 100%; height: auto; } "
    ".runbook-why svg a { text-decoration: none; } "
    ".runbook-why summary { cursor: pointer; color: #1f5fae; } "
    ".runbook-why pre { background: #f3f3f3; padding: 0.6em; overflow-x: auto; } "
    ".runbook-screenshot img { width: 100%; height: auto; border: 1px solid #ccc; }"
)

#: where the note about neutral paths goes on a page (filled in once the page is rendered)
PATH_NOTE_SLOT = "<!-- runbook-path-note -->"

#: each language's name in that language: the label of the link to a page's counterpart
LANGUAGE_NAMES = {"en": "English", "ko": "한국어"}

#: the other language's site: (relative prefix from this site, its language code)
Counterpart = tuple[str, str]


def switch_link(counterpart: Counterpart | None, page: str) -> str:
    """The link from a page to the same page in the other language ("" without one)."""
    if counterpart is None:
        return ""
    prefix, lang = counterpart
    name = html.escape(LANGUAGE_NAMES.get(lang, lang))
    href = html.escape(prefix + page)
    return f"<a class='runbook-lang' href='{href}' hreflang='{lang}' lang='{lang}'>{name}</a>"


def markdown(text: str) -> str:
    """Markdown to HTML, as nbconvert renders a notebook's markdown cells."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return str(markdown2html_mistune(text))


def nav(
    course: Course, index: int, pages: list[tuple[str, str]], other: Counterpart | None = None
) -> str:
    """The bar at the top and bottom of a runbook's page: index, glossary, previous, next,
    and the same page in the other language."""
    words = course.words
    links = [
        f"<a href='index.html'>{html.escape(words['index_link'])}</a>",
        f"<a href='index.html#end-state'>{html.escape(words['end_state_link'])}</a>",
        f"<a href='glossary.html'>{html.escape(words['glossary_link'])}</a>",
        *_page_links(course),
    ]
    if index > 0:
        stem, title = pages[index - 1]
        links.append(f"<a href='{stem}.html'>← {html.escape(title)}</a>")
    if index + 1 < len(pages):
        stem, title = pages[index + 1]
        links.append(f"<a href='{stem}.html'>{html.escape(title)} →</a>")
    links.append(switch_link(other, f"{pages[index][0]}.html"))
    return f"<nav class='runbook-nav' style='{_NAV_STYLE}'>{''.join(links)}</nav>"


def _page_links(course: Course) -> list[str]:
    return [f"<a href='{p.file}'>{html.escape(p.title)}</a>" for p in course.pages]


def lesson_block(course: Course, stem: str) -> str:
    """A runbook's lesson: the exercise, its checkpoint command and the output to expect."""
    words, lesson = course.words, course.lesson(stem)
    return (
        f"<section class='runbook-lesson' id='exercise'>"
        f"<h2>{html.escape(words['exercise_heading'])}</h2>{markdown(lesson.exercise)}"
        f"<h3>{html.escape(words['checkpoint_heading'])}</h3>"
        f"<pre class='runbook-checkpoint'><code>{html.escape(lesson.checkpoint.strip())}"
        "</code></pre>"
        f"<p>{html.escape(words['expected_heading'])}</p>"
        f"<pre class='runbook-expected'><code>{html.escape(lesson.expected.strip())}"
        "</code></pre>"
        "</section>"
    )


def objectives_block(course: Course, stem: str) -> str:
    """A runbook's learning objectives (a list)."""
    items = "".join(
        f"<li>{markdown(o).strip().removeprefix('<p>').removesuffix('</p>')}</li>"
        for o in course.lesson(stem).objectives
    )
    heading = html.escape(course.words["objectives_heading"])
    return f"<h2 id='objectives'>{heading}</h2><ul class='runbook-objectives'>{items}</ul>"


def why_block(course: Course, stem: str) -> str:
    """What opens a runbook's page: learning objectives, why the step matters, the end state,
    the screenshots, the exercise with its checkpoint."""
    words, why = course.words, course.why(stem)
    figures = "".join(
        f"<figure class='runbook-screenshot' style='margin:1em 0'>"
        f"<a href='images/{html.escape(shot.image.name)}'>"
        f"<img src='images/{html.escape(shot.image.name)}' alt='{html.escape(shot.caption)}'>"
        "</a>"
        f"<figcaption style='font-size:0.9em;color:#444'>{html.escape(shot.caption)}"
        "</figcaption></figure>"
        for shot in course.shots(stem)
    )
    shots = (
        f"<h3>{html.escape(words['screenshots_heading'])}</h3>"
        f"{markdown(words['screenshot_note'])}{figures}"
        if figures
        else ""
    )
    return (
        f"<style>{_WHY_CSS}</style>"
        f"<section class='runbook-why' id='why' style='{_WHY_STYLE}'>"
        f"{objectives_block(course, stem)}"
        f"<h2>{html.escape(words['why_heading'])}</h2>{markdown(why)}"
        f"<p><a href='index.html#end-state'>{html.escape(words['end_state_link'])}</a> · "
        f"<a href='glossary.html'>{html.escape(words['glossary_link'])}</a></p>"
        f"<details class='runbook-end-state'><summary>{html.escape(words['end_state_heading'])}"
        f"</summary><figure class='end-state-figure'>{course.diagram}</figure></details>"
        f"{PATH_NOTE_SLOT}{shots}{lesson_block(course, stem)}</section>"
    )


def path_note(course: Course) -> str:
    """The note on a page whose outputs showed a run's scratch folder."""
    note = html.escape(course.words["placeholder_note"])
    return f"<p class='runbook-path-note'><small>{note}</small></p>"


def _shell(course: Course, title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="{html.escape(course.lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{html.escape(title)}</title>
<style>{_CSS}</style></head>
<body>
{body}
</body></html>
"""


def index_page(
    course: Course, pages: list[tuple[str, str, str]], other: Counterpart | None = None
) -> str:
    """The course's index: the runbooks in procedure order (file, title, overview), then the
    end-state diagram; a link to the index in the other language."""
    words = course.words
    items = "\n".join(
        f"<li><h2><a href='{name}'>{html.escape(title)}</a></h2>{markdown(overview)}</li>"
        for name, title, overview in pages
    )
    switch = switch_link(other, "index.html")
    own = "\n".join(f"<li>{link}</li>" for link in _page_links(course))
    body = f"""<p style="text-align:right">{switch}</p>
<h1>{html.escape(words["title"])}</h1>
{markdown(words["intro"])}
<h2>{html.escape(words["pages_heading"])}</h2>
<ul class="course-pages">
{own}
</ul>
<h2>{html.escape(words["runbooks_heading"])}</h2>
<ol class="runbook-index">
{items}
</ol>
<section id="end-state">
<h2>{html.escape(words["end_state_heading"])}</h2>
{markdown(words["end_state_text"])}
<figure class="end-state-figure">{course.diagram}</figure>
</section>
<p><a href="glossary.html">{html.escape(words["glossary_link"])}</a></p>"""
    return _shell(course, words["title"], body)


def glossary_page(course: Course, other: Counterpart | None = None) -> str:
    """The glossary: each term with its anchor, its sentences and its AWS page."""
    words = course.words
    entries = "\n".join(
        f"<dt id='{html.escape(term.id)}'>{html.escape(term.name)}</dt>"
        f"<dd>{html.escape(term.text)}"
        + (
            f" <a href='{html.escape(term.link)}'>{html.escape(words['doc_link'])}</a>"
            if term.link
            else ""
        )
        + "</dd>"
        for term in course.terms
    )
    body = f"""<nav style="{_NAV_STYLE}"><a href="index.html">{html.escape(words["index_link"])}</a>
<a href="index.html#end-state">{html.escape(words["end_state_link"])}</a>
{switch_link(other, "glossary.html")}</nav>
<h1>{html.escape(words["glossary_heading"])}</h1>
{markdown(words["glossary_intro"])}
<dl class="runbook-glossary">
{entries}
</dl>"""
    return _shell(course, f"{words['glossary_heading']} — {words['title']}", body)


def course_page(course: Course, page: CoursePage, other: Counterpart | None = None) -> str:
    """One of the course's own pages (set-up, agenda, …) with the course's navigation."""
    words = course.words
    links = [
        f"<a href='index.html'>{html.escape(words['index_link'])}</a>",
        *_page_links(course),
        f"<a href='glossary.html'>{html.escape(words['glossary_link'])}</a>",
        switch_link(other, page.file),
    ]
    bar = f"<nav class='runbook-nav' style='{_NAV_STYLE}'>{''.join(links)}</nav>"
    body = f"{bar}\n<h1>{html.escape(page.title)}</h1>\n{markdown(page.text)}\n{bar}"
    return _shell(course, f"{page.title} — {words['title']}", body)
