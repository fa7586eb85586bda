#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Generate docs/api.md from the public headers (include/s2mmu/*.h).

The headers are the reference: every public function carries its doc
comment (return contract and Context: line, DESIGN.md section 10) and every
header opens with a comment that holds its concurrency table.  This script
only re-arranges them: per header the opening comment (the table rendered
as a Markdown table), then each function's signature and comment, then
the types and constants with their comments, verbatim.

The man pages come from the same parse (--man DIR): one section-3 page
per public function (its Return and Context lines, its row of the
header's concurrency table, SEE ALSO between related calls), an s2mmu(3)
overview, and with --man1 BIN the s2mmu(1) page from the commands'
--help texts.  --check verifies the pages against the Markdown.

Usage: gen-api-doc.py [-o docs/api.md] [--man DIR [--man1 BIN] [--version V]
                      [--check]] [include/s2mmu]
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


# A function declaration, not a function-pointer variable ("T (*name)(...)").
FUNC_RE = re.compile(r"^(?!typedef\b)(?:static\s+inline\s+|extern\s+)?"
                     r"[A-Za-z_][\w\s\*]*?\b([A-Za-z_]\w*)\s*\((?!\s*\*)", re.S)


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


def read_table(lines, i):
    """The table starting at lines[i]: its rows (the first is the heading,
    a continuation line merged into the row above, every row as wide as
    the widest) and the index of the first line after it."""
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
    return [r + [""] * (width - len(r)) for r in rows], i


def render_prose(text):
    """Comment text as Markdown: tables become tables, paragraphs stay."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        if is_table_line(lines[i]) and i + 1 < len(lines) and is_table_line(lines[i + 1]):
            rows, i = read_table(lines, i)
            width = len(rows[0])
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
# What render_header saw, for the man pages (gen_man.py's input): every
# documented function group, and each header's opening comment.
GROUPS = []
HEADERS = {}


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
        HEADERS[name] = comment_text(first["text"])
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
                GROUPS.append({"header": name, "names": names, "text": "",
                               "sigs": [signature(it["text"]) for _, it in members]})
                continue
            # kernel-doc's "name - summary" opening
            text = re.sub(r"^%s\s+-\s+" % re.escape(names[0]), "", text)
            out.append(render_prose(text))
            GROUPS.append({"header": name, "names": names, "text": text,
                           "sigs": [signature(it["text"]) for _, it in members]})
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

# ------------------------------------------------------------ man pages
#
# The same parse as docs/api.md (GROUPS and HEADERS, filled by
# render_header) written as section-3 pages: one per public function, with
# its Return and Context lines, its header's concurrency-table row and SEE
# ALSO between related calls; an s2mmu(3) overview; and, from the
# commands' --help texts, the s2mmu(1) page.

MAN_DATE = ""   # no date: the same sources give the same pages


def roff(s):
    """Text for a roff line: backslashes and hyphens escaped, and a line
    that would start with a control character protected."""
    s = s.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"^([.'])", r"\\&\1", s)


def roff_prose(s):
    """roff() for prose: @param becomes the parameter in italics."""
    return re.sub(r"@(\w+)", r"\\fI\1\\fP", roff(s))


def roff_lines(text):
    """Prose as roff: blank lines make paragraphs, a line that starts a
    list item ('- ', a number) or is indented keeps its own line."""
    out = []
    for l in text.split("\n"):
        if not l.strip():
            if out and out[-1] != ".PP":
                out.append(".PP")
            continue
        if out and out[-1] != ".PP" and re.match(r"^\s*(- |\d+[.)] |\s{2,}\S)", l):
            out.append(".br")
        out.append(roff_prose(l.strip()))
    while out and out[-1] == ".PP":
        out.pop()
    return out


SECTION_RE = re.compile(r"(?:(?<=^)|(?<=\n)|(?<=\.\s\s)|(?<=\.\s))(Return|Context):\s*")


def split_sections(text):
    """A doc comment's description, Return and Context texts: a section
    starts at 'Return:' or 'Context:' (a line's start or after a sentence)
    and runs to the next one or to a blank line."""
    text = text.strip()
    parts = {"description": [], "Return": [], "Context": []}
    pos, cur = 0, "description"
    for m in SECTION_RE.finditer(text):
        parts[cur].append(text[pos:m.start()])
        cur, pos = m.group(1), m.end()
    parts[cur].append(text[pos:])
    desc = "".join(parts["description"]).strip()
    out = {}
    for k in ("Return", "Context"):
        body = "\n".join(p for p in parts[k])
        # a paragraph after the section's own goes back to the description
        paras = re.split(r"\n\s*\n", body.strip(), maxsplit=1)
        out[k] = paras[0].strip() if body.strip() else ""
        if len(paras) > 1:
            desc = (desc + "\n\n" + paras[1].strip()).strip()
    out["description"] = desc
    return out


def all_functions():
    return [fn for g in GROUPS for fn in g["names"]]


def table_names(cell, known):
    """The functions a concurrency table's first cell names: 'a', 'p_*',
    'x_set/delete_y' (both), 'a_get_stats, _pgtable' (a prefix of the name
    before it)."""
    names, prev = [], None
    for part in [p.strip() for p in cell.split(",")]:
        word = part.split(" ")[0]
        cands = []
        if word.endswith("*"):
            cands = [k for k in known if k.startswith(word[:-1])]
        elif "/" in word:
            m = re.match(r"^(\w*?_)?(\w+?)/(\w+?)(_\w+)?$", word)
            if m:
                pre, a, b, suf = m.group(1) or "", m.group(2), m.group(3), m.group(4) or ""
                cands = [pre + a + suf, pre + b + suf]
        elif word.startswith("_") and prev:
            comps = prev.split("_")
            cands = ["_".join(comps[:k]) + word for k in range(len(comps) - 1, 0, -1)]
        else:
            cands = [word]
        found = [c for c in cands if c in known]
        names += found
        if found:
            prev = found[0]
    return names


def concurrency_rows():
    """name -> (header, heading cells, row cells) from each header's
    opening table."""
    known, rows = set(all_functions()), {}
    for hname, text in HEADERS.items():
        lines, i = text.split("\n"), 0
        while i < len(lines):
            if is_table_line(lines[i]) and i + 1 < len(lines) and is_table_line(lines[i + 1]):
                table, i = read_table(lines, i)
                for r in table[1:]:
                    for fn in table_names(r[0], known):
                        rows.setdefault(fn, (hname, table[0], r))
                continue
            i += 1
    return rows


PAIRS = [("create", "destroy"), ("init", "destroy"), ("new", "free"),
         ("topup", "free"), ("online", "offline"), ("start", "end")]


def related(group, by_name, mentions):
    """SEE ALSO for a group: its other members, the functions its comment
    names and those whose comments name it, the calls whose name extends
    or is extended by one of its names (s2_pgt_unmap, s2_pgt_unmap_fast),
    the notifier family, and create/destroy-style pairs."""
    mine = set(group["names"])
    out = []

    def add(n):
        if n not in mine and n in by_name and n not in out:
            out.append(n)
    for n in group["names"]:
        for m in mentions.get(n, []):
            add(m)
    for other, ms in mentions.items():
        if mine & set(ms):
            add(other)
    for n in group["names"]:
        for k in by_name:
            if k.startswith(n + "_") or n.startswith(k + "_"):
                add(k)
            if n.startswith("s2_vm_mn_") and k.startswith("s2_vm_mn_"):
                add(k)
            pa, _, la = n.rpartition("_")
            pb, _, lb = k.rpartition("_")
            if pa == pb and ((la, lb) in PAIRS or (lb, la) in PAIRS):
                add(k)
    # calls that take the same structure, other than the object handle
    # every call of the header takes first (struct s2_memcache, ...)
    handles = set()
    for g in by_name.values():
        firsts = [struct_params(sig)[:1] for sig in g["sigs"]]
        handles |= {f[0] for f in firsts if f}
    handle_count = {h: sum(1 for g in GROUPS for sig in g["sigs"]
                           if struct_params(sig)[:1] == [h]) for h in handles}
    handles = {h for h, c in handle_count.items() if c >= 5}
    mytypes = set()
    for sig in group["sigs"]:
        mytypes |= set(struct_params(sig)) - handles
    for k, g in by_name.items():
        theirs = set()
        for sig in g["sigs"]:
            theirs |= set(struct_params(sig))
        if mytypes & theirs:
            add(k)
    # with little else to point at: the life cycle of the object it works
    # on, or in a small header its neighbours
    if len(out) < 2:
        for n in group["names"]:
            family = "_".join(n.split("_")[:2])
            for k in by_name:
                if re.match(r"^%s_(create|init|new|destroy|free)$" % re.escape(family), k):
                    add(k)
    same = [k for k, g in by_name.items() if g["header"] == group["header"]]
    if len(out) < 2 and len(same) <= 4:
        for k in same:
            add(k)
    return out


def struct_params(sig):
    """The structure types of a signature's parameters, in order."""
    inside = sig[sig.find("(") + 1:sig.rfind(")")]
    return re.findall(r"struct\s+(\w+)", inside)


def man3_page(group, fn, version, rows, see):
    sec = split_sections(group["text"]) if group["text"] else \
        {"description": "", "Return": "", "Context": ""}
    summary = ""
    desc = sec["description"]
    m = re.match(r"^(.*?\.)(\s|$)", desc.replace("\n", " "), re.S)
    if m:
        summary = m.group(1).rstrip(".")
    if not summary:
        summary = "part of the s2mmu API, <s2mmu/%s>" % group["header"]
    header = group["header"]
    out = [".\\\" SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause",
           ".\\\" Generated by tools/gen-api-doc.py from include/s2mmu/%s; "
           "edit the header, not this file." % header,
           '.TH %s 3 "%s" "s2mmu %s" "s2mmu Library Functions"' % (fn.upper(), MAN_DATE, version),
           ".SH NAME",
           "%s \\- %s" % (", ".join(roff(n) for n in group["names"]),
                           roff(re.sub(r"@(\w+)", r"\1", summary))),
           ".SH LIBRARY",
           "s2mmu (\\fIlibs2mmu\\fP, \\fB\\-ls2mmu\\fP; \\fBpkg\\-config s2mmu\\fP)",
           ".SH SYNOPSIS",
           ".nf",
           ".B #include <s2mmu/%s>" % header,
           ".PP"]
    for sig in group["sigs"]:
        for l in sig.split("\n"):
            out.append(roff(re.sub(r"^\s+", "        ", l)))
    out.append(".fi")
    out.append(".SH DESCRIPTION")
    desc = desc[:1].upper() + desc[1:]
    out += roff_lines(desc) if desc else ["Not documented in <s2mmu/%s>." % header]
    out.append(".SH RETURN VALUE")
    if sec["Return"]:
        out += roff_lines(sec["Return"])
    elif all(re.match(r"^(static\s+inline\s+)?void\s", s) for s in group["sigs"]):
        out.append("None (the function returns void).")
    else:
        out.append("No Return: line in <s2mmu/%s>; see DESCRIPTION." % header)
    out.append(".SH CONTEXT")
    out += roff_lines(sec["Context"]) if sec["Context"] else \
        ["No Context: line in <s2mmu/%s>; see CONCURRENCY where there is one." % header]
    if fn in rows:
        hname, head, row = rows[fn]
        out.append(".SH CONCURRENCY")
        out.append("From the table at the top of <s2mmu/%s>:" % hname)
        for h, c in zip(head[1:], row[1:]):
            out += [".TP", roff(h), roff(c)]
    out.append(".SH SEE ALSO")
    refs = ["\\fB%s\\fP(3)" % roff(n) for n in see] + ["\\fBs2mmu\\fP(3)"]
    out.append(",\n".join(refs))
    return "\n".join(out) + "\n"


def overview_page(version):
    out = [".\\\" SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause",
           ".\\\" Generated by tools/gen-api-doc.py from include/s2mmu/*.h.",
           '.TH S2MMU 3 "%s" "s2mmu %s" "s2mmu Library Functions"' % (MAN_DATE, version),
           ".SH NAME",
           "s2mmu \\- stage\\-2 (secondary) MMU page tables kept coherent with the host MMU",
           ".SH LIBRARY",
           "s2mmu (\\fIlibs2mmu\\fP, \\fB\\-ls2mmu\\fP; \\fBpkg\\-config s2mmu\\fP)",
           ".SH SYNOPSIS",
           ".nf"] + [".B #include <s2mmu/%s>" % h for h in sorted(
               HEADERS, key=lambda f: (ORDER.index(f) if f in ORDER else len(ORDER), f))] + [
           ".fi",
           ".SH DESCRIPTION",
           "Each header's overview and concurrency table, then its functions,",
           "each of which has its own page.",
           "Errors are 0 or a negative errno with Linux's numbers (S2_EINVAL, ...)."]
    for hname in sorted(HEADERS, key=lambda f: (ORDER.index(f) if f in ORDER else len(ORDER), f)):
        out.append(".SS <s2mmu/%s>" % hname)
        out += [".nf"] + [roff(l) for l in HEADERS[hname].split("\n")] + [".fi"]
        fns = [fn for g in GROUPS if g["header"] == hname for fn in g["names"]]
        if fns:
            out += [".PP", "Functions: " + ",\n".join("\\fB%s\\fP(3)" % roff(f) for f in fns) + "."]
    out += [".SH SEE ALSO", "\\fBs2mmu\\fP(1)"]
    return "\n".join(out) + "\n"


def write_man3(mandir, version):
    d = os.path.join(mandir, "man3")
    os.makedirs(d, exist_ok=True)
    by_name = {fn: g for g in GROUPS for fn in g["names"]}
    mentions = {}
    for g in GROUPS:
        words = set(re.findall(r"\b(s2_\w+)", g["text"]))
        for fn in g["names"]:
            mentions[fn] = sorted(w for w in words if w in by_name and w != fn)
    rows = concurrency_rows()
    written = []
    for g in GROUPS:
        see = related(g, by_name, mentions)
        for fn in g["names"]:
            mates = [n for n in g["names"] if n != fn]
            with open(os.path.join(d, fn + ".3"), "w") as fh:
                fh.write(man3_page(g, fn, version, rows, mates + see))
            written.append(fn)
    with open(os.path.join(d, "s2mmu.3"), "w") as fh:
        fh.write(overview_page(version))
    return written


# The s2mmu(1) page from the commands' --help texts.
COMMANDS = ["run", "check", "bench", "version"]
OPT_RE = re.compile(r"^\s{1,4}(--?[\w-]+(?:[ =][^\s]+)?(?:, --?[\w-]+(?:[ =][^\s]+)?)?)\s{2,}(\S.*)$")


def help_to_roff(text):
    """A --help text as roff: the usage line dropped (it goes to SYNOPSIS),
    option lines as tagged paragraphs, their continuation lines joined,
    'options:' headings dropped, everything else as paragraphs."""
    out, in_opt, in_cmds = [], False, False
    lines = text.rstrip("\n").split("\n")
    for l in lines[1:]:
        if not l.strip():
            in_opt = in_cmds = False
            if out and out[-1] != ".PP":
                out.append(".PP")
            continue
        if re.match(r"^\s*(options|commands):\s*$", l):
            in_opt, in_cmds = False, l.strip() == "commands:"
            continue
        m = OPT_RE.match(l) or (in_cmds and re.match(r"^\s{2}(\w+)\s+(\S.*)$", l))
        if m:
            out += [".TP", "\\fB%s\\fP" % roff(m.group(1)), roff(m.group(2).strip())]
            in_opt = True
            continue
        if in_opt and re.match(r"^\s{6,}\S", l):
            out.append(roff(l.strip()))
            continue
        in_opt = False
        out.append(roff(l.strip()))
    while out and out[-1] == ".PP":
        out.pop()
    return out


def man1_page(s2mmu, version):
    import subprocess

    def helptext(args):
        r = subprocess.run([s2mmu] + args, stdout=subprocess.PIPE, text=True, check=True)
        return r.stdout
    top = helptext(["--help"])
    out = [".\\\" SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause",
           ".\\\" Generated by tools/gen-api-doc.py from the output of `s2mmu --help`",
           ".\\\" and `s2mmu COMMAND --help`; edit those texts, not this file.",
           '.TH S2MMU 1 "%s" "s2mmu %s" "User Commands"' % (MAN_DATE, version),
           ".SH NAME",
           "s2mmu \\- run, check and measure the s2mmu stage\\-2 MMU library",
           ".SH SYNOPSIS",
           ".nf"]
    helps = {c: helptext([c, "--help"]) for c in COMMANDS}
    for c in COMMANDS:
        usage = re.sub(r"^usage:\s*", "", helps[c].split("\n")[0])
        out.append(roff(usage))
    out += ["s2mmu \\-\\-version", "s2mmu \\-\\-help", ".fi", ".SH DESCRIPTION"]
    out += help_to_roff(top)
    out.append(".SH COMMANDS")
    for c in COMMANDS:
        out.append('.SS "s2mmu %s"' % c)
        usage = re.sub(r"^usage:\s*", "", helps[c].split("\n")[0])
        out += [".nf", roff(usage), ".fi", ".PP"]
        out += help_to_roff(helps[c])
    out += [".SH FILES",
            ".TP",
            ".I ../libexec/s2mmu/s2mmu\\-check",
            "The checker's driver, a second build of the library with the bug",
            "switches of the catalogue; \\fBs2mmu check\\fP runs it, found relative",
            "to the directory of the \\fBs2mmu\\fP binary (in a build tree:",
            ".IR check/s2mmu\\-check ).",
            ".SH SEE ALSO",
            "\\fBs2mmu\\fP(3), \\fBs2_vm_fault\\fP(3), \\fBs2_pgt_map\\fP(3)"]
    return "\n".join(out) + "\n"



def check_man(mandir, md):
    """The pages against the Markdown they were generated with: one
    section-3 page per function heading of docs/api.md, each with NAME,
    SYNOPSIS, RETURN VALUE, CONTEXT and SEE ALSO, its header comment with a
    Return: line (unless the function returns void) and a Context: line,
    every SEE ALSO target present, and groff formatting each without a
    warning.  Returns the problems found."""
    import subprocess
    problems = []
    want = set()
    for h in re.findall(r"^#### (.*)$", md, re.M):
        want |= set(re.findall(r"`(\w+)`", h))
    d = os.path.join(mandir, "man3")
    have = {f[:-2] for f in os.listdir(d) if f.endswith(".3")} if os.path.isdir(d) else set()
    for fn in sorted(want - have):
        problems.append("%s: in docs/api.md, no man page" % fn)
    for fn in sorted(have - want - {"s2mmu"}):
        problems.append("%s.3: a man page for no function of docs/api.md" % fn)
    pages = [os.path.join(d, f + ".3") for f in sorted(have)]
    for extra in ("man1/s2mmu.1",):
        if os.path.exists(os.path.join(mandir, extra)):
            pages.append(os.path.join(mandir, extra))
    for path in pages:
        text = open(path).read()
        base = os.path.basename(path)
        need = ["NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"]
        if base.endswith(".3") and base != "s2mmu.3":
            need += ["RETURN VALUE", "CONTEXT"]
        for sec in need:
            if not re.search(r"^\.SH \"?%s\"?$" % sec, text, re.M):
                problems.append("%s: no %s section" % (base, sec))
        # DESIGN.md section 10: every public function documents its return
        # values and its Context
        for what in ("No Return: line", "No Context: line"):
            if what in text:
                problems.append("%s: %s in its header comment" % (base, what.lower()))
        see = text[text.find(".SH SEE ALSO"):]
        for ref, sect in re.findall(r"\\fB([\w\\-]+)\\fP\((\d)\)", see):
            ref = ref.replace("\\-", "-")
            if not os.path.exists(os.path.join(mandir, "man" + sect, ref + "." + sect)) and \
               not (sect == "1" and ref == "s2mmu"):
                problems.append("%s: SEE ALSO %s(%s) has no page" % (base, ref, sect))
        r = subprocess.run(["groff", "-man", "-ww", "-z", "-t", path],
                           stderr=subprocess.PIPE, text=True)
        if r.returncode or r.stderr.strip():
            problems.append("%s: groff: %s" % (base, r.stderr.strip() or "exit %d" % r.returncode))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", default=None,
                    help="docs/api.md output ('-': stdout, the default without --man)")
    ap.add_argument("--man", metavar="DIR",
                    help="also write DIR/man3/<function>.3 and DIR/man3/s2mmu.3")
    ap.add_argument("--man1", metavar="BIN",
                    help="also write DIR/man1/s2mmu.1 from BIN's --help texts")
    ap.add_argument("--version", default="unknown", help="version for the pages' footer")
    ap.add_argument("--check", action="store_true",
                    help="check the pages in --man DIR against the Markdown (exit 1 on "
                    "a problem)")
    ap.add_argument("dir", nargs="?", default="include/s2mmu")
    a = ap.parse_args()
    if a.output is None:
        a.output = None if a.man else "-"
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
    elif a.output:
        with open(a.output, "w") as fh:
            fh.write(text)
    if a.man:
        write_man3(a.man, a.version)
        if a.man1:
            os.makedirs(os.path.join(a.man, "man1"), exist_ok=True)
            with open(os.path.join(a.man, "man1", "s2mmu.1"), "w") as fh:
                fh.write(man1_page(a.man1, a.version))
        if a.check:
            problems = check_man(a.man, text)
            for p in problems:
                sys.stderr.write("gen-api-doc: %s\n" % p)
            if problems:
                sys.exit(1)

if __name__ == "__main__":
    main()
