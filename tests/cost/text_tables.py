"""Reading back the aligned tables the cost commands print."""

import re


def table_rows(output):
    """The first aligned table in ``output`` as dicts, cut at the dashes under the headers."""
    lines = output.splitlines()
    i = next(n for n, ln in enumerate(lines) if ln and set(ln) <= {"-", " "})
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", lines[i])]
    headers = [lines[i - 1][a:b].strip() for a, b in spans]
    rows = []
    for ln in lines[i + 1 :]:
        if not ln.strip() or ln.startswith(("total", "~", "!", "note")):
            break
        rows.append({h: ln[a:b].strip() for h, (a, b) in zip(headers, spans, strict=True)})
    return rows
