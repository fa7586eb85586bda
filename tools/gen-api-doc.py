#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Generate docs/api.md from the public headers (include/s2mmu/*.h).

The headers are the reference: every public function carries its doc
comment (return contract and Context: line, DESIGN.md section 10) and every
header opens with a comment that holds its concurrency table.  This script
only re-arranges them: per header the opening comment (the table rendered
as a Markdown table), then each function's signature and comment, then
the types and constants with their comments, verbatim.

Usage: gen-api-doc.py [-o docs/api.md] [include/s2mmu]
"""
import argparse
import os
import re
import sys

# Headers in reading order for an embedder; any other header follows.
ORDER = ["pgtable.h", "mmu.h", "platform.h", "hosted.h", "types.h",
         "format.h", "compiler.h"]


def scan(text):
    """Split a header into top-level items: comments, preprocessor lines
    and declarations, each with the number of blank lines before it."""
    items, i, n, blank = [], 0, len(text), 0
    while i < n:
        if text[i] in " \t":
            i += 1
            continue
        if text[i] == "\n":
            # a line holding nothing counts as a blank line
            line_start = text.rfind("\n", 0, i) + 1
            if not text[line_start:i].strip():
                blank += 1
            i += 1
            continue
        start = i
        if text.startswith("/*", i):
            i = text.index("*/", i) + 2
            kind = "comment"
        elif text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
            kind = "comment"
        elif text[i] == "#":
            while True:
                e = text.find("\n", i)
                e = n if e < 0 else e
                if text[e - 1] != "\\" or e == n:
                    i = e
                    break
                i = e + 1
            kind = "pp"
        else:
            i = end_of_decl(text, i)
            kind = "decl"
        body = text[start:i]
        item = {"kind": kind, "text": body, "blank": blank, "trail": None}
        # a comment after a declaration on the same line documents it
        if kind in ("decl", "pp"):
            rest = text[i:text.find("\n", i) if text.find("\n", i) >= 0 else n]
            m = re.match(r"\s*/\*(.*?)\*/\s*$", rest)
            if kind == "decl" and m:
                item["trail"] = m.group(1).strip()
                i += len(rest)
        items.append(item)
        blank = 0
    return items


def end_of_decl(text, i):
    """End of a declaration: ';' at depth 0, or the closing brace of an
    inline function's body."""
    depth, n, seen_paren = 0, len(text), False
    while i < n:
        if text.startswith("/*", i):
            i = text.index("*/", i) + 2
            continue
        c = text[i]
        if c in "([":
            depth += 1
            if c == "(" and depth == 1:
                seen_paren = True
        elif c in ")]":
            depth -= 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                j = i + 1
                while j < n and text[j] in " \t\n":
                    j += 1
                if seen_paren and (j >= n or text[j] != ";"):
                    return i + 1
        elif c == ";" and depth == 0:
            return i + 1
        i += 1
    return n


def comment_text(c):
    """The words of a comment, without its delimiters and leading stars."""
    c = c.strip()
    if c.startswith("//"):
        return c[2:].strip()
    c = re.sub(r"^/\*+", "", c)
    c = re.sub(r"\*/$", "", c)
    lines = [re.sub(r"^\s*\* ?", "", l) for l in c.split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(l.rstrip() for l in lines)


FUNC_RE = re.compile(r"^(?!typedef\b)(?:static\s+inline\s+|extern\s+)?"
                     r"[A-Za-z_][\w\s\*]*?\b([A-Za-z_]\w*)\s*\(", re.S)


def func_name(decl):
    d = re.sub(r"/\*.*?\*/", "", decl, flags=re.S).strip()
    if d.startswith(("struct", "enum", "union")) and "{" in d.split("(")[0]:
        return None
    m = FUNC_RE.match(d)
    return m.group(1) if m else None


def signature(decl):
    d = re.sub(r"/\*.*?\*/", "", decl, flags=re.S).strip()
    if "{" in d:  # inline function: its head only
        d = d[:d.index("{")].rstrip() + ";"
    return d


def is_table_line(l):
    return "|" in l or re.match(r"^\s*-{3,}\+[-+]*\s*$", l) is not None


def render_prose(text):
    """Comment text as Markdown: tables become tables, paragraphs stay."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        if is_table_line(lines[i]) and i + 1 < len(lines) and is_table_line(lines[i + 1]):
            rows = []
            while i < len(lines) and is_table_line(lines[i]):
                l = lines[i]
                i += 1
                if re.match(r"^\s*-{3,}\+", l):
                    continue
                cells = [c.strip() for c in l.split("|")]
                if rows and not cells[0]:
                    # continuation of the row above
                    prev = rows[-1]
                    for k, c in enumerate(cells[1:], 1):
                        if c and k < len(prev):
                            prev[k] = (prev[k] + " " + c).strip()
                    continue
                rows.append(cells)
            width = max(len(r) for r in rows)
            rows = [r + [""] * (width - len(r)) for r in rows]
            out.append("| " + " | ".join(md_cell(c) for c in rows[0]) + " |")
            out.append("|" + "---|" * width)
            for r in rows[1:]:
                out.append("| " + " | ".join(md_cell(c) for c in r) + " |")
            out.append("")
            continue
        l = lines[i]
        # kernel-doc sections and list items keep their own line
        if re.match(r"^(Return|Context|Errors?|Concurrency)[:.]", l.strip()):
            l = re.sub(r"^(\s*)(\w+)([:.])", r"\1**\2\3**", l)
            if out and out[-1] != "":
                out.append("")
        out.append(escape(l.strip()) if l.strip() else "")
        i += 1
    return "\n".join(out).strip() + "\n"


def md_cell(c):
    return "`%s`" % c if re.match(r"^[\w /,\*]+$", c) and "_" in c else escape(c)


def escape(s):
    # Markdown would read '*' pairs and leading '#' as formatting
    s = re.sub(r"(?<!\*)\*(?!\*)", r"\\*", s)
    return re.sub(r"^#", r"\\#", s)


undocumented = []


def drop_empty_conditionals(others):
    """Remove #if/#else/#endif frames left empty once includes are gone."""
    def kw(it):
        m = re.match(r"#\s*(\w+)", it["text"].strip()) if it["kind"] == "pp" else None
        return m.group(1) if m else None
    changed = True
    while changed:
        changed = False
        for k in range(len(others)):
            a = kw(others[k][1])
            if a not in ("if", "ifdef", "ifndef"):
                continue
            nxt = [kw(o[1]) for o in others[k + 1:k + 3]]
            if nxt[:1] == ["endif"]:
                del others[k:k + 2]
            elif nxt == ["else", "endif"]:
                del others[k:k + 3]
            else:
                continue
            changed = True
            break
    return others


def render_header(path, name):
    items = scan(open(path).read())
    out = ["## `<s2mmu/%s>`" % name, ""]
    # opening comment: the first comment after the SPDX line
    comments = [it for it in items if it["kind"] == "comment"
                and "SPDX-License-Identifier" not in it["text"]]
    first = comments[0] if comments else None
    if first is not None and items.index(first) <= 2:
        out.append(render_prose(comment_text(first["text"])))
    funcs, others = [], []
    doc = None
    pps = [it for it in items if it["kind"] == "pp"]
    guard_end = pps[-1] if pps and re.match(r"#\s*endif", pps[-1]["text"]) else None
    for it in items:
        if it["kind"] == "comment":
            doc = None if it is first or "SPDX" in it["text"] else it
            continue
        # A blank line ends a comment's reach; without one, a comment
        # covers every declaration that follows it (a group).
        if it["blank"]:
            doc = None
        if it["kind"] == "pp":
            t = it["text"].strip()
            # the include guard and includes say nothing to a reader;
            # other conditionals stay with the definitions they select
            if it is guard_end or re.match(r"#\s*include\b", t) or \
               re.match(r"#\s*(ifndef|define)\s+S2MMU_\w+_H\s*$", t):
                continue
            others.append((doc, it))
            continue
        fn = func_name(it["text"])
        if fn:
            funcs.append((fn, doc, it))
        else:
            others.append((doc, it))
    others = drop_empty_conditionals(others)
    if funcs:
        out += ["### Functions", ""]
        # functions under one comment are documented together
        groups = []
        for fn, doc, it in funcs:
            if groups and doc is not None and groups[-1][0] is doc and \
               not it["trail"] and not groups[-1][1][-1][1]["trail"]:
                groups[-1][1].append((fn, it))
            else:
                groups.append((doc, [(fn, it)]))
        for doc, members in groups:
            names = [fn for fn, _ in members]
            out += ["#### " + ", ".join("`%s`" % fn for fn in names), "", "```c"]
            out += [signature(it["text"]) for _, it in members]
            out += ["```", ""]
            text = comment_text(doc["text"]) if doc is not None else ""
            trail = members[0][1]["trail"]
            if trail:
                text = (text + "\n" if text else "") + trail
            if not text:
                out += ["*(undocumented)*", ""]
                undocumented.extend(names)
                continue
            # kernel-doc's "name - summary" opening
            text = re.sub(r"^%s\s+-\s+" % re.escape(names[0]), "", text)
            out.append(render_prose(text))
    if others:
        out += ["### Types and constants", ""]
        # group consecutive items that share one comment into one block
        groups = []
        for doc, it in others:
            if groups and not it["blank"] and groups[-1][0] is doc:
                groups[-1][1].append(it)
            else:
                groups.append((doc, [it]))
        for doc, its in groups:
            if doc is not None:
                out.append(render_prose(comment_text(doc["text"])))
            code = []
            for it in its:
                t = it["text"].rstrip()
                if it["trail"]:
                    t += "\t/* %s */" % it["trail"]
                code.append(t)
            out += ["```c", "\n".join(code), "```", ""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", default="-")
    ap.add_argument("dir", nargs="?", default="include/s2mmu")
    a = ap.parse_args()
    names = sorted(f for f in os.listdir(a.dir) if f.endswith(".h"))
    names.sort(key=lambda f: (ORDER.index(f) if f in ORDER else len(ORDER), f))
    parts = [
        "<!-- SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause -->",
        "<!-- Generated by tools/gen-api-doc.py from include/s2mmu/*.h "
        "(make api-doc); edit the headers, not this file. -->",
        "",
        "# s2mmu API reference",
        "",
        "Every public header of the library, in the order an embedder reads "
        "them: what each function returns and under which lock it may run "
        "(its *Context*), and each header's table of which calls may run "
        "concurrently.",
        "",
    ]
    parts += ["- [`<s2mmu/%s>`](#s2mmu%s)" % (f, f.replace(".", "")) for f in names]
    parts.append("")
    for f in names:
        parts.append(render_header(os.path.join(a.dir, f), f))
    text = "\n".join(parts).rstrip() + "\n"
    text = re.sub(r"\n{3,}", "\n\n", text)
    if undocumented:
        sys.stderr.write("gen-api-doc: no doc comment: %s\n" % ", ".join(undocumented))
    if a.output == "-":
        sys.stdout.write(text)
    else:
        with open(a.output, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
