r"""Format-neutral table model and its LaTeX, Markdown and HTML renderers (internal).

A :class:`Table` is a title, header rows, body sections (separated by rules) and notes.
Cells are :class:`Cell` objects: plain text, or numbers with an optional superscript
(significance stars). The renderers escape every special character of their format, so
labels such as ``ln_dist`` or ``exporter^year`` and notes with ``%`` or ``&`` are safe.

Examples
--------
>>> t = Table(header=[[Cell("x"), Cell("(1)")]], sections=[[[Cell("a_b"), Cell("1.0")]]])
>>> "a\\_b" in render(t, "tex")
True
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Literal

Format = Literal["tex", "md", "html"]

_TEX_SPECIAL = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    # characters a plain pdflatex document cannot typeset from UTF-8 input
    "×": r"$\times$",
    "θ": r"$\theta$",
    "σ": r"$\sigma$",
    "β": r"$\beta$",
    "−": r"$-$",
    "±": r"$\pm$",
    "²": r"$^2$",
    "–": "--",
    "—": "---",
}
_TEX_RE = re.compile("|".join(re.escape(k) for k in _TEX_SPECIAL))
_MD_RE = re.compile(r"([\\`*_{}\[\]<>|#])")


def escape_tex(text: str) -> str:
    r"""Escape every LaTeX special character (``& % $ # _ { } ~ ^ \`` and ``< >``).

    The few non-ASCII characters tables use (``×``, ``θ``, ``σ``, ``β``, ``−``, ``±``, ``²``,
    en and em dashes) become their LaTeX commands, so the output compiles with pdflatex
    and no extra package.

    Parameters
    ----------
    text : str
        Plain text.

    Returns
    -------
    str
        Text safe inside a LaTeX document in text mode.

    Examples
    --------
    >>> print(escape_tex("50% of R&D_1"))
    50\% of R\&D\_1
    >>> print(escape_tex("Exporter × year, θ = 4"))
    Exporter $\times$ year, $\theta$ = 4
    """
    return _TEX_RE.sub(lambda m: _TEX_SPECIAL[m.group(0)], text)


def escape_md(text: str) -> str:
    r"""Escape Markdown punctuation that would change a pipe-table cell.

    Parameters
    ----------
    text : str
        Plain text.

    Returns
    -------
    str
        Text rendered literally inside a GitHub-flavoured Markdown table cell.

    Examples
    --------
    >>> print(escape_md("ln_dist | x*"))
    ln\_dist \| x\*
    """
    return _MD_RE.sub(r"\\\1", text)


def escape_html(text: str) -> str:
    """Escape ``& < > " '`` for HTML.

    Parameters
    ----------
    text : str
        Plain text.

    Returns
    -------
    str
        HTML-safe text.

    Examples
    --------
    >>> escape_html("a<b & c")
    'a&lt;b &amp; c'
    """
    return html.escape(text, quote=True)


@dataclass(frozen=True)
class Cell:
    """One table cell.

    Parameters
    ----------
    text : str
        The content as plain text (a number already formatted, or a label).
    sup : str, default ""
        A superscript (significance stars).
    numeric : bool, default False
        Whether the content is a number (typeset in math mode in LaTeX, so minus signs
        are proper minus signs).
    tex : str, optional
        Raw LaTeX used verbatim instead of the escaped text (for labels such as R$^2$).
    """

    text: str
    sup: str = ""
    numeric: bool = False
    tex: str | None = None


@dataclass
class Table:
    r"""A format-neutral table.

    Parameters
    ----------
    header : list of rows
        Header rows; the first cell of each is the stub.
    sections : list of lists of rows
        Body sections, separated by horizontal rules.
    title : str, optional
        Caption.
    notes : list of str
        Notes printed under the table.
    label : str, optional
        LaTeX ``\label``.
    """

    header: list[list[Cell]]
    sections: list[list[list[Cell]]]
    title: str | None = None
    notes: list[str] = field(default_factory=list)
    label: str | None = None

    @property
    def ncol(self) -> int:
        """Number of columns, including the stub."""
        rows = [*self.header, *(r for s in self.sections for r in s)]
        return max((len(r) for r in rows), default=1)


def _tex_cell(c: Cell) -> str:
    if c.tex is not None:
        return c.tex
    if c.numeric and c.text:
        sup = f"^{{{escape_tex(c.sup)}}}" if c.sup else ""
        body = c.text.replace(" ", "\\ ")
        return f"${body}{sup}$"
    sup = f"$^{{{escape_tex(c.sup)}}}$" if c.sup else ""
    return escape_tex(c.text) + sup


def _pad(row: list[Cell], n: int) -> list[Cell]:
    return row + [Cell("")] * (n - len(row))


def _tex_row(row: list[Cell], n: int) -> str:
    return " & ".join(_tex_cell(c) for c in _pad(row, n)) + " \\\\"


def render_tex(t: Table) -> str:
    r"""Render a table as a LaTeX ``table`` float with booktabs rules.

    Parameters
    ----------
    t : Table
        The table.

    Returns
    -------
    str
        LaTeX source; needs ``\usepackage{booktabs}``. The notes follow the tabular as
        footnote-size paragraphs as wide as the text (long notes wrap).
    """
    n = t.ncol
    out = ["\\begin{table}[htbp]", "\\centering"]
    if t.title:
        out.append(f"\\caption{{{escape_tex(t.title)}}}")
    if t.label:
        out.append(f"\\label{{{escape_tex(t.label)}}}")
    out.append(f"\\begin{{tabular}}{{l{'c' * (n - 1)}}}")
    out.append("\\toprule")
    out.extend(_tex_row(row, n) for row in t.header)
    for section in t.sections:
        out.append("\\midrule")
        out.extend(_tex_row(row, n) for row in section)
    out.append("\\bottomrule")
    out.append("\\end{tabular}")
    if t.notes:
        # under the tabular, as wide as the text and wrapped: notes of any length fit
        out.append("\\par\\smallskip")
        out.append("{\\footnotesize\\raggedright")
        out.extend(f"{escape_tex(note)}\\par" for note in t.notes)
        out.append("}")
    out.append("\\end{table}")
    return "\n".join(out) + "\n"


def _md_cell(c: Cell) -> str:
    sup = escape_md(c.sup) if c.sup else ""
    return escape_md(c.text) + sup


def _md_row(row: list[Cell], n: int) -> str:
    return "| " + " | ".join(_md_cell(c) for c in _pad(row, n)) + " |"


def render_md(t: Table) -> str:
    """Render a table as a GitHub-flavoured Markdown pipe table.

    Parameters
    ----------
    t : Table
        The table.

    Returns
    -------
    str
        Markdown (a pipe table has no horizontal rules, so sections follow each other;
        the notes follow the table as separate lines).
    """
    n = t.ncol
    out: list[str] = []
    if t.title:
        out.append(f"**{escape_md(t.title)}**")
        out.append("")
    header = t.header or [[Cell("")] * n]
    out.append(_md_row(header[0], n))
    out.append("|" + "|".join([":---"] + [":---:"] * (n - 1)) + "|")
    out.extend(_md_row(row, n) for row in header[1:])
    for section in t.sections:
        out.extend(_md_row(row, n) for row in section)
    if t.notes:
        out.append("")
        out.extend(f"{escape_md(note)}  " for note in t.notes)
    return "\n".join(out) + "\n"


def _html_cell(c: Cell, tag: str) -> str:
    sup = f"<sup>{escape_html(c.sup)}</sup>" if c.sup else ""
    return f"<{tag}>{escape_html(c.text)}{sup}</{tag}>"


def render_html(t: Table) -> str:
    """Render a table as an HTML ``<table>`` fragment.

    Parameters
    ----------
    t : Table
        The table.

    Returns
    -------
    str
        HTML with ``<thead>``, one ``<tbody>`` per section and notes in ``<tfoot>``.
    """
    n = t.ncol
    out = ['<table class="ca-trade-table">']
    if t.title:
        out.append(f"<caption>{escape_html(t.title)}</caption>")
    out.append("<thead>")
    for row in t.header:
        out.append("<tr>" + "".join(_html_cell(c, "th") for c in _pad(row, n)) + "</tr>")
    out.append("</thead>")
    for section in t.sections:
        out.append("<tbody>")
        for row in section:
            cells = _pad(row, n)
            out.append(
                "<tr>"
                + _html_cell(cells[0], "th")
                + "".join(_html_cell(c, "td") for c in cells[1:])
                + "</tr>"
            )
        out.append("</tbody>")
    if t.notes:
        out.append("<tfoot>")
        for note in t.notes:
            out.append(f'<tr><td colspan="{n}">{escape_html(note)}</td></tr>')
        out.append("</tfoot>")
    out.append("</table>")
    return "\n".join(out) + "\n"


def render(t: Table, format: Format) -> str:
    """Render a table in one of the supported formats.

    Parameters
    ----------
    t : Table
        The table.
    format : {"tex", "md", "html"}
        Output format.

    Returns
    -------
    str
        The rendered table.
    """
    if format == "tex":
        return render_tex(t)
    if format == "md":
        return render_md(t)
    return render_html(t)
