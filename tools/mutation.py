#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Mutation testing of s2mmu's checker and tests (issue 13, item 5).

Applies simple mutation operators to the C sources of src/mmu, src/pgtable
and src/format, builds each mutant in a private copy of the tree, and asks
whether `s2mmu check` (every hand-written scenario on the correct code, and
generated worlds when the checker has --generate) or the TAP tests notice.

Classes: killed (the checker or a test failed, crashed or timed out),
survived (everything passed), equivalent (every object file of the build
is byte-identical to the unmutated build's, x86-64 and aarch64: the compiler proved the
mutant equal), stillborn (the build failed, -Werror included), flaky (the
only failures were tests that also fail on the unmutated tree when rerun).
Score = killed / (killed + survived).

Nothing under the repository is modified: the tree is copied (HEAD by
default, through `git archive`) into a temporary directory, built there
once, and each mutant is a copy of that built tree with one file changed.
docs/mutation.md explains the operators, the kill criteria and the last
measured run.  Python 3 standard library only.
"""

import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MUT_DIRS = ("src/mmu", "src/pgtable", "src/format")
OPS = ("call-delete", "hook-drop", "cmp-negate", "cmp-shift", "stmt-swap",
       "cmpxchg-store", "order-weaken", "const-bit")
# Builds without -g so that objects compare byte for byte (equivalence).
MAKE_VARS = ["CFLAGS=-O2"]
# Keep the tests' objects (make's intermediates) so a mutant rebuilds only
# what its file touches; an empty .SECONDARY: is overridden by mk/'s lists.
KEEP_MK = ".SECONDARY: $(patsubst tests/%.c,$(BUILD)/obj/tests/%.o,$(wildcard tests/*.c))\n"

# ------------------------------------------------------------ C scanning


def mask_c(text):
    """Return text with comments and string/char literals blanked (spaces),
    same length, newlines kept, so offsets and line numbers match."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "/" and i + 1 < n and text[i + 1] == "*":
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
        elif c == "/" and i + 1 < n and text[i + 1] == "/":
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                if out[k] != "\n":
                    out[k] = " "
            i = j + 1
        else:
            i += 1
    return "".join(out)


TOKEN_RE = re.compile(r"<<=|>>=|<<|>>|<=|>=|==|!=|->|<|>")
IDENT_CALL_RE = re.compile(r"^\s*(\(void\)\s*)?([A-Za-z_][\w]*(\s*(->|\.)\s*[A-Za-z_]\w*)*)\s*\(")
KEYWORDS = {"if", "while", "for", "switch", "return", "sizeof", "do", "else", "case",
            "goto", "break", "continue", "default"}
DECL_RE = re.compile(r"^\s*(static\s+|const\s+)*(struct\s+\w+|enum\s+\w+|union\s+\w+|"
                     r"u?int\d+_t|unsigned|signed|int|long|short|char|bool|void|size_t|"
                     r"uintptr_t|s2_\w+_t)\b")
FUNC_RE = re.compile(r"^[A-Za-z_].*?\b([A-Za-z_]\w*)\s*\(")


def balanced_end(s, i):
    """Index just past the ')' matching the '(' at s[i], or -1."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "(":
            depth += 1
        elif s[j] == ")":
            depth -= 1
            if depth == 0:
                return j + 1
    return -1


def split_args(s):
    """Split a call's argument text at top-level commas."""
    args, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            args.append(cur)
            cur = ""
        else:
            cur += ch
    args.append(cur)
    return args


def bug_conjunct(cond):
    """True if a condition can hold only with a bug switched on: no
    top-level ||, and one top-level && term is S2_BUG_INJECTED(...) itself."""
    depth, terms, cur, k = 0, [], "", 0
    while k < len(cond):
        ch = cond[k]
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and cond.startswith("||", k):
            return False
        if depth == 0 and cond.startswith("&&", k):
            terms.append(cur)
            cur, k = "", k + 2
            continue
        cur += ch
        k += 1
    terms.append(cur)
    return any(re.match(r"\s*S2_BUG(_INJECTED)?\s*\(", t) for t in terms)


class Source:
    """One C file: its lines, masked lines, and per-line facts."""

    def __init__(self, rel, text):
        self.rel = rel
        self.text = text
        self.lines = text.split("\n")
        self.masked = mask_c(text).split("\n")
        n = len(self.lines)
        self.pp = [False] * n       # preprocessor line (or continuation)
        self.define = [False] * n   # part of a #define
        self.func = [""] * n        # enclosing function (best effort)
        self.bugonly = [False] * n  # only reached with a catalogue bug on
        cont = False
        isdef = False
        for i, m in enumerate(self.masked):
            if cont or m.lstrip().startswith("#"):
                if not cont:
                    isdef = m.lstrip().startswith("#define") or \
                        m.lstrip().startswith("# define")
                self.pp[i] = True
                self.define[i] = isdef
                cont = m.rstrip().endswith("\\")
            else:
                cont = False
        self._functions()
        self._bug_regions()

    def _functions(self):
        cur, depth = "", 0
        pending = ""
        for i, m in enumerate(self.masked):
            if self.pp[i]:
                self.func[i] = cur
                continue
            if depth == 0:
                fm = FUNC_RE.match(m)
                if fm and "=" not in m.split("(")[0] and not m.rstrip().endswith(";"):
                    pending = fm.group(1)
            if depth == 0 and "{" in m and pending:
                cur = pending
                pending = ""
            depth += m.count("{") - m.count("}")
            self.func[i] = cur
            if depth <= 0:
                depth = 0
                if "}" in m:
                    cur = ""

    def _bug_regions(self):
        """Lines executed only when a catalogue bug is injected: the body of
        an `if` whose condition is S2_BUG_INJECTED(...) or a conjunction with it as
        one term.  Mutating them changes nothing the correct code does."""
        n = len(self.masked)
        for i, m in enumerate(self.masked):
            # the checker's own instrumentation: compiled to nothing outside
            # check builds, so not a library bug
            if re.search(r"\b(S2_BUG|S2_BUG_INJECTED|S2_PREEMPT|S2_VIOLATION|S2_PTE_POINT)\b", m):
                self.bugonly[i] = True
            im = re.search(r"\bif\s*\(", m)
            if not im:
                continue
            # find the end of the condition (it may span lines)
            j, text = i, m[im.start():]
            while balanced_end(text, text.index("(")) < 0 and j + 1 < n:
                j += 1
                text += "\n" + self.masked[j]
            end = balanced_end(text, text.index("("))
            if end < 0 or not bug_conjunct(text[text.index("(") + 1:end - 1]):
                continue
            rest = text[end:].strip()
            k = j
            if rest.startswith("{") or (not rest and j + 1 < n and
                                        self.masked[j + 1].strip().startswith("{")):
                # the block: up to its closing brace, character by character
                # (a `} else {` line ends it and is not part of it)
                depth, started = 0, False
                while k < n:
                    seg = text[end:].split("\n")[-1] if k == j else self.masked[k]
                    closed = False
                    for pos, ch in enumerate(seg):
                        if ch == "{":
                            depth += 1
                            started = True
                        elif ch == "}":
                            depth -= 1
                            if started and depth == 0:
                                closed = True
                                break
                    if closed:
                        if not seg[pos + 1:].strip():
                            self.bugonly[k] = True
                        break
                    self.bugonly[k] = True
                    k += 1
            else:
                k = j + 1 if not rest else j
                while k < n:
                    self.bugonly[k] = True
                    if self.masked[k].rstrip().endswith(";"):
                        break
                    k += 1

    def stmt_start(self, i):
        """True if a statement can begin at line i (the previous code line
        ends a statement, opens a block, or is a control header)."""
        j = i - 1
        while j >= 0 and (not self.masked[j].strip() or self.pp[j]):
            j -= 1
        if j < 0:
            return True
        prev = self.masked[j].rstrip()
        return prev.endswith((";", "{", "}", ")", ":")) or prev.strip() == "else"

    def statement(self, i):
        """(first, last) lines of the simple statement beginning at line i
        (parentheses balanced, ends with ';'), or None."""
        depth, j = 0, i
        while j < len(self.masked) and j < i + 8:
            m = self.masked[j]
            if self.pp[j]:
                return None
            depth += m.count("(") - m.count(")")
            if "{" in m or "}" in m:
                return None
            if depth == 0 and m.rstrip().endswith(";"):
                return (i, j)
            j += 1
        return None


# ------------------------------------------------------------ operators


class Mutant:
    def __init__(self, src, line, op, new_lines, note, last=None):
        self.file = src.rel
        self.line = line + 1          # 1-based
        self.last = (last if last is not None else line) + 1
        self.op = op
        self.old = src.lines[line:self.last]
        self.new = new_lines          # replaces lines [line, last]
        self.note = note
        self.func = src.func[line]
        self.id = ""

    def apply(self, text):
        lines = text.split("\n")
        assert lines[self.line - 1:self.last] == self.old, "source changed"
        lines[self.line - 1:self.last] = self.new
        return "\n".join(lines)

    def diff(self):
        old = " / ".join(s.strip() for s in self.old)
        new = " / ".join(s.strip() for s in self.new)
        return "-%s +%s" % (old, new)

    def to_dict(self):
        return {"id": self.id, "file": self.file, "line": self.line, "op": self.op,
                "function": self.func, "note": self.note, "old": self.old, "new": self.new}


def indent(s):
    return s[:len(s) - len(s.lstrip())]


def replace_at(line, start, end, new):
    return line[:start] + new + line[end:]


def gen_calls(src, out):
    """call-delete and hook-drop: a whole call statement replaced by {}."""
    for i, m in enumerate(src.masked):
        if src.pp[i] or src.bugonly[i]:
            continue
        cm = IDENT_CALL_RE.match(m)
        if not cm:
            continue
        name = cm.group(2)
        head = re.split(r"\s*(?:->|\.)\s*", name)[0]
        if head in KEYWORDS or not src.stmt_start(i):
            continue
        st = src.statement(i)
        if not st:
            continue
        first, last = st
        whole = "\n".join(src.masked[first:last + 1])
        p = whole.index("(", cm.end(2))
        e = balanced_end(whole, p)
        if e < 0 or whole[e:].strip() != ";":
            continue  # not a bare call statement (assignment, operator...)
        if re.search(r"(->|\.)\s*(tlbi_\w+|dcache_\w+|icache_\w+)$", name):
            op = "hook-drop"
        else:
            op = "call-delete"
        last_name = re.split(r"\s*(?:->|\.)\s*", name)[-1]
        new = [indent(src.lines[first]) + "{}"] + [""] * (last - first)
        out.append(Mutant(src, first, op, new, "%s() deleted" % last_name, last))


CMP_NEG = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
CMP_SHIFT = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}


def gen_cmps(src, out):
    for i, m in enumerate(src.masked):
        if src.pp[i] or src.bugonly[i]:
            continue
        for tm in TOKEN_RE.finditer(m):
            tok = tm.group(0)
            if tok in CMP_NEG:
                ln = replace_at(src.lines[i], tm.start(), tm.end(), CMP_NEG[tok])
                out.append(Mutant(src, i, "cmp-negate", [ln], "%s -> %s" % (tok, CMP_NEG[tok])))
            if tok in CMP_SHIFT:
                ln = replace_at(src.lines[i], tm.start(), tm.end(), CMP_SHIFT[tok])
                out.append(Mutant(src, i, "cmp-shift", [ln], "%s -> %s" % (tok, CMP_SHIFT[tok])))


SWAP_SKIP = re.compile(r"^\s*(return|break|continue|goto|case|default)\b")


def simple_stmt(src, i):
    m = src.masked[i]
    if src.pp[i] or src.bugonly[i] or not m.strip():
        return False
    if not m.rstrip().endswith(";") or "{" in m or "}" in m:
        return False
    if m.count("(") != m.count(")") or SWAP_SKIP.match(m) or DECL_RE.match(m):
        return False
    return src.stmt_start(i)


def gen_swaps(src, out):
    for i in range(len(src.lines) - 1):
        if not (simple_stmt(src, i) and simple_stmt(src, i + 1)):
            continue
        a, b = src.lines[i], src.lines[i + 1]
        if indent(a) != indent(b) or a.strip() == b.strip():
            continue
        # the first must not be the body of an if/else/for/while header
        j = i - 1
        while j >= 0 and not src.masked[j].strip():
            j -= 1
        if j >= 0 and not src.masked[j].rstrip().endswith((";", "{", "}")):
            continue
        new = [indent(a) + b.strip(), indent(b) + a.strip()]
        out.append(Mutant(src, i, "stmt-swap", new, "lines %d and %d swapped" % (i + 1, i + 2), i + 1))


# Any load/store accessor named *load_acquire / *store_release
# (s2_load_acquire, the engine's pte_store_release, ...) called inside a
# function loses the suffix; the relaxed sibling must exist or the mutant
# is stillborn.
ACQREL_RE = re.compile(r"(?<![\w>.])([A-Za-z]\w*?(?:load|store))_(acquire|release)\s*\(")
CMPXCHG_RE = re.compile(r"(?<![\w>.])(s2|pte)_cmpxchg\s*\(")


def gen_atomics(src, out):
    for i, m in enumerate(src.masked):
        if src.pp[i] or src.bugonly[i]:
            continue
        for am in CMPXCHG_RE.finditer(m):
            # X_cmpxchg(..., p, &expected, new) -> (X_store(..., p, new), true)
            p = am.end() - 1
            e = balanced_end(m, p)
            if e < 0:
                continue
            args = [x.strip() for x in split_args(src.lines[i][p + 1:e - 1])]
            if len(args) < 3:
                continue
            new = "(%s_store(%s), true)" % (am.group(1), ", ".join(args[:-2] + args[-1:]))
            ln = replace_at(src.lines[i], am.start(), e, new)
            out.append(Mutant(src, i, "cmpxchg-store", [ln], "%s_cmpxchg -> plain store" %
                              am.group(1)))
        for am in ACQREL_RE.finditer(m if src.func[i] else ""):
            name = am.group(1) + "_" + am.group(2)
            ln = replace_at(src.lines[i], am.start(1), am.start(1) + len(name), am.group(1))
            out.append(Mutant(src, i, "order-weaken", [ln], "%s -> %s" % (name, am.group(1))))
        for am in re.finditer(r"(?<![\w>.])s2_fence\s*\(\s*\)", m):
            ln = replace_at(src.lines[i], am.start(), am.end(), "((void)0)")
            out.append(Mutant(src, i, "order-weaken", [ln], "s2_fence() removed"))


INT_LIT = r"(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*"
SHIFT_CONST_RE = re.compile(r"(?<![\w.])(" + INT_LIT + r")\s*<<\s*")
HEX_RE = re.compile(r"(?<![\w.])0[xX]([0-9a-fA-F]+)([uUlL]*)(?![\w.])")
OPERAND_RE = re.compile(r"[A-Za-z_0-9][\w]*(\s*(->|\.)\s*\w+|\[[^\]]*\])*")


def move_bit(v):
    low = v & -v
    return v ^ low ^ (low << 1) if not v & (low << 1) else v << 1


def gen_consts(src, out):
    for i, m in enumerate(src.masked):
        if (src.pp[i] and not src.define[i]) or src.bugonly[i]:
            continue
        line = src.lines[i]
        for sm in SHIFT_CONST_RE.finditer(m):
            k = sm.end()
            if k < len(m) and m[k] == "(":
                e = balanced_end(m, k)
            else:
                om = OPERAND_RE.match(m, k)
                e = om.end() if om else -1
            if e < 0:
                continue
            operand = line[k:e].strip()
            ln = replace_at(line, k, e, "(%s + 1)" % operand)
            out.append(Mutant(src, i, "const-bit", [ln], "%s << %s -> << (%s + 1)" %
                              (sm.group(1), operand, operand)))
        for bm in re.finditer(r"(?<![\w.])S2_BIT\s*\(", m):
            p = bm.end() - 1
            e = balanced_end(m, p)
            if e < 0:
                continue
            arg = line[p + 1:e - 1]
            ln = replace_at(line, p, e, "((%s) + 1)" % arg)
            out.append(Mutant(src, i, "const-bit", [ln], "S2_BIT(%s) -> S2_BIT(%s + 1)" %
                              (arg, arg)))
        for gm in re.finditer(r"(?<![\w.])S2_GENMASK\s*\(", m):
            p = gm.end() - 1
            e = balanced_end(m, p)
            args = split_args(line[p + 1:e - 1]) if e > 0 else []
            if len(args) != 2:
                continue
            ln = replace_at(line, p, e, "((%s) + 1, (%s) + 1)" % (args[0].strip(), args[1].strip()))
            out.append(Mutant(src, i, "const-bit", [ln], "S2_GENMASK moved up one bit"))
        for hm in HEX_RE.finditer(m):
            v = int(hm.group(1), 16)
            if v == 0 or v >= 1 << 63:
                continue
            nv = move_bit(v)
            width = len(hm.group(1))
            new = "0x%0*x%s" % (width, nv, hm.group(2))
            ln = replace_at(line, hm.start(), hm.end(), new)
            out.append(Mutant(src, i, "const-bit", [ln], "0x%s -> %s" % (hm.group(1), new)))


def enumerate_mutants(tree):
    muts = []
    for d in MUT_DIRS:
        full = os.path.join(tree, d)
        for name in sorted(os.listdir(full)):
            if not name.endswith((".c", ".h")):
                continue
            rel = os.path.join(d, name)
            with open(os.path.join(tree, rel)) as f:
                src = Source(rel, f.read())
            per = []
            gen_calls(src, per)
            gen_cmps(src, per)
            gen_swaps(src, per)
            gen_atomics(src, per)
            gen_consts(src, per)
            per.sort(key=lambda x: (x.line, OPS.index(x.op), x.note))
            muts.extend(per)
    seen = {}
    for mu in muts:
        key = "%s:%d:%s" % (mu.file, mu.line, mu.op)
        seen[key] = seen.get(key, 0) + 1
        mu.id = "%s:%d" % (key, seen[key])
    return muts


def sample(muts, seed, nmax):
    """Deterministic stratified sample.  Each operator gets a floor of
    max(2, nmax // 20) mutants (or all it has), the rest of the sample is
    shared in proportion to each operator's population (largest
    remainders first); within an operator the mutants are shuffled with
    the seed.  So the rare operators (cmpxchg-store, hook-drop) are always
    tried while the sample stays close to the population's mix."""
    if not nmax or nmax >= len(muts):
        return list(muts)
    rng = random.Random(seed)
    groups = {}
    for op in OPS:
        g = [m for m in muts if m.op == op]
        rng.shuffle(g)
        if g:
            groups[op] = g
    floor = max(2, nmax // 20)
    take = {op: min(len(g), floor) for op, g in groups.items()}
    left = nmax - sum(take.values())
    if left > 0:
        rest = {op: len(g) - take[op] for op, g in groups.items()}
        total = sum(rest.values())
        share = {op: left * rest[op] / total for op in rest} if total else {}
        for op in share:
            take[op] += min(rest[op], int(share[op]))
        order = sorted(share, key=lambda op: (-(share[op] - int(share[op])), OPS.index(op)))
        while sum(take.values()) < min(nmax, len(muts)):
            for op in order:
                if take[op] < len(groups[op]) and sum(take.values()) < nmax:
                    take[op] += 1
    picked = []
    for op in OPS:
        if op in groups:
            picked.extend(groups[op][:take[op]])
    # run order: interleave files and operators (seeded), not grouped
    rng.shuffle(picked)
    return picked


# ------------------------------------------------------------ running


def log(msg):
    print(msg, flush=True)


CURRENT = []  # the process group running now, killed if we are stopped


def on_signal(signum, frame):
    for pid in CURRENT:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    raise SystemExit("stopped by signal %d" % signum)


def run_cmd(cmd, cwd, timeout, env=None):
    """Run cmd in its own process group; kill the group on timeout.
    Returns (rc, output, seconds); rc None on timeout."""
    t0 = time.time()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True, env=env)
    CURRENT.append(p.pid)
    try:
        outb, _ = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        outb, _ = p.communicate()
        rc = None
    finally:
        CURRENT.remove(p.pid)
    return rc, outb.decode(errors="replace"), time.time() - t0


def git(*args):
    return subprocess.run(["git", "-C", ROOT] + list(args), check=True,
                          stdout=subprocess.PIPE).stdout.decode().strip()


def snapshot(dst, which, commit="HEAD"):
    """Copy the tree to dst: a commit, HEAD by default (git archive), or
    the working tree's versions of the tracked files."""
    os.makedirs(dst)
    if which == "head":
        arch = subprocess.Popen(["git", "-C", ROOT, "archive", commit], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", dst], stdin=arch.stdout, check=True)
        if arch.wait():
            raise SystemExit("git archive failed")
    else:
        files = git("ls-files", "-z").split("\0")
        for rel in files:
            if not rel or not os.path.isfile(os.path.join(ROOT, rel)):
                continue
            os.makedirs(os.path.dirname(os.path.join(dst, rel)) or dst, exist_ok=True)
            shutil.copy2(os.path.join(ROOT, rel), os.path.join(dst, rel))


class Runner:
    def __init__(self, a, work):
        self.a = a
        self.work = work
        self.base = os.path.join(work, "base")
        self.mut = os.path.join(work, "mut")
        self.keep = os.path.join(work, "keep.mk")
        with open(self.keep, "w") as f:
            f.write(KEEP_MK)
        self.tests = []
        self.checks = []
        self.timeouts = {}
        self.dropped = []

    def make(self, tree, goals, timeout):
        cmd = ["nice", "-n", str(self.a.nice), "make", "-f", "Makefile", "-f", self.keep,
               "-j%d" % self.a.jobs] + MAKE_VARS + goals
        return run_cmd(cmd, tree, timeout)

    def build_goals(self, tree):
        self.tests = ["build/tests/%s.t" % n[:-2] for n in sorted(os.listdir(os.path.join(tree, "tests")))
                      if n.endswith(".c")]
        return ["all"] + self.tests

    def objects(self, tree):
        res = {}
        b = os.path.join(tree, "build")
        for d, _, files in os.walk(b):
            for fn in files:
                if fn.endswith(".o"):
                    p = os.path.join(d, fn)
                    with open(p, "rb") as f:
                        res[os.path.relpath(p, tree)] = f.read()
        return res

    def a64_objects(self, tree, rels, tag):
        """Compile rels (library .c files) with the aarch64 cross compiler
        (the arm64 build, where a weakened acquire/release changes the
        instructions even when x86-64's do not).  {rel: bytes or None}."""
        res = {}
        for rel in rels:
            o = os.path.join(self.work, "a64", tag, rel + ".o")
            os.makedirs(os.path.dirname(o), exist_ok=True)
            cmd = ["nice", "-n", str(self.a.nice), self.a64cc, "-std=c11", "-O2", "-ffreestanding",
                   "-mno-outline-atomics", "-D_GNU_SOURCE", "-Iinclude", "-I.", "-c", rel,
                   "-o", o]
            rc, _, _ = run_cmd(cmd, tree, 300)
            if rc == 0:
                with open(o, "rb") as f:
                    res[rel] = f.read()
            else:
                res[rel] = None
        return res

    def lib_sources(self, tree):
        return sorted(os.path.join(d, n) for d in MUT_DIRS
                      for n in os.listdir(os.path.join(tree, d)) if n.endswith(".c"))

    def checker_commands(self, tree):
        """The checker runs, from what this tree's checker offers."""
        rc, out, _ = run_cmd(["build/s2mmu", "check", "--list"], tree, 60)
        scen = [l.split()[1] for l in out.splitlines() if l.startswith("scenario ")]
        rc, hlp, _ = run_cmd(["build/s2mmu", "check", "--help"], tree, 60)
        cmds = []
        for s in scen:
            cmds.append(("check:%s" % s, ["build/s2mmu", "check", "--scenario", s, "--seed",
                                          str(self.a.check_seed), "--budget",
                                          str(self.a.budget), "--json"]))
        if self.a.ept_budget:
            for s in scen:
                cmds.append(("check-ept:%s" % s, ["build/s2mmu", "check", "--format", "ept",
                                                  "--scenario", s, "--seed",
                                                  str(self.a.check_seed), "--budget",
                                                  str(self.a.ept_budget), "--json"]))
        if re.search(r"--memory\b.*weak", hlp) and self.a.weak_budget:
            for s in scen:
                cmds.append(("check-weak:%s" % s, ["build/s2mmu", "check", "--memory", "weak",
                                                   "--scenario", s, "--seed",
                                                   str(self.a.check_seed), "--budget",
                                                   str(self.a.weak_budget), "--json"]))
        if "--generate" in hlp and self.a.generate:
            cmds.append(("check-generate", ["build/s2mmu", "check", "--generate",
                                            str(self.a.generate), "--seed",
                                            str(self.a.check_seed), "--budget",
                                            str(self.a.generate_budget), "--json"]))
        return cmds

    def run_checks(self, tree, cmds, baseline=False):
        """First failing checker command's label, or None.  On the baseline,
        a command that refuses the scenario (e.g. arm64-only on EPT) is
        dropped rather than treated as a failure."""
        kept = []
        for label, cmd in cmds:
            to = self.timeouts.get(label, self.a.check_timeout)
            rc, out, secs = run_cmd(["nice", "-n", str(self.a.nice)] + cmd, tree, to)
            if baseline:
                if rc != 0 and "needs arm64" in out:
                    continue
                if rc != 0:
                    # no use as an oracle; said in the log and the result
                    log("baseline: %s fails on the unmutated tree (rc %s), dropped:\n%s" %
                        (label, rc, out[-600:]))
                    self.dropped.append(label)
                    continue
                self.timeouts[label] = max(self.a.check_timeout, 10 * secs)
                kept.append((label, cmd))
                continue
            if rc is None:
                return "%s (timeout %.0fs)" % (label, to), out
            if rc != 0 or '"violation":true' in out:
                inv = re.search(r'"invariant":"(I\d+)"', out)
                return "%s%s" % (label, " " + inv.group(1) if inv and rc == 1 else
                                 " (rc %s)" % rc), out
        if baseline:
            return kept
        return None, ""

    def run_tests(self, tree, tests, timeout):
        cmd = ["nice", "-n", str(self.a.nice), "prove", "-j%d" % self.a.jobs] + tests
        rc, out, secs = run_cmd(cmd, tree, timeout)
        failed = sorted(set(re.findall(r"^(build/tests/\S+\.t)\s+\(Wstat", out, re.M)))
        if rc is None:
            failed = failed or ["(timeout)"]
        return rc, failed, out, secs

    def setup(self, commit="HEAD"):
        log("snapshot (%s %s) into %s" % (self.a.tree, commit[:12], self.base))
        snapshot(self.base, self.a.tree, commit)
        goals = self.build_goals(self.base)
        rc, out, secs = self.make(self.base, goals, 1800)
        if rc != 0:
            raise SystemExit("baseline build failed:\n" + out[-3000:])
        self.goals = goals
        self.base_objs = self.objects(self.base)
        self.a64cc = shutil.which("aarch64-linux-gnu-gcc")
        self.a64_base = {}
        if self.a64cc:
            self.a64_base = self.a64_objects(self.base, self.lib_sources(self.base), "base")
            broken = [k for k, v in self.a64_base.items() if v is None]
            if broken:
                log("aarch64 compile fails on the base for %s: arm64 objects not compared"
                    % broken)
                self.a64cc = None
        else:
            log("no aarch64-linux-gnu-gcc: equivalence judged on x86-64 objects only")
        self.build_timeout = max(120, 10 * secs)
        t0 = time.time()
        self.checks = self.run_checks(self.base, self.checker_commands(self.base), baseline=True)
        self.check_secs = time.time() - t0
        rc, failed, out, tsecs = self.run_tests(self.base, self.tests, 1800)
        if rc != 0:
            raise SystemExit("baseline: make test fails on the unmutated tree:\n" + out[-3000:])
        self.test_timeout = max(120, 5 * tsecs)
        log("baseline: build %.1fs, %d checker runs %.1fs, tests %.1fs (%d programs): clean" %
            (secs, len(self.checks), self.check_secs, tsecs, len(self.tests)))
        return {"build_s": round(secs, 1), "check_s": round(self.check_secs, 1),
                "test_s": round(tsecs, 1), "checker_runs": [c[0] for c in self.checks],
                "checker_runs_dropped": self.dropped}

    def run_mutant(self, mu, text_override=None):
        t0 = time.time()
        if os.path.exists(self.mut):
            shutil.rmtree(self.mut)
        shutil.copytree(self.base, self.mut, symlinks=True)
        path = os.path.join(self.mut, mu.file)
        with open(path) as f:
            text = f.read()
        new = text_override(text) if text_override else mu.apply(text)
        with open(path, "w") as f:
            f.write(new)
        res = {"status": None, "killed_by": "", "changed_objects": []}
        rc, out, _ = self.make(self.mut, self.goals, self.build_timeout)
        if rc != 0:
            err = [l for l in out.splitlines() if "error:" in l]
            res.update(status="stillborn", killed_by=(err[0] if err else "build failed")[:200])
        else:
            objs = self.objects(self.mut)
            changed = sorted(k for k in objs if self.base_objs.get(k) != objs[k])
            changed += sorted(k for k in self.base_objs if k not in objs)
            if self.a.sabotage == "noequiv":
                changed = changed or ["(sabotage)"]
            res["changed_objects"] = changed
            if not changed and self.a64cc:
                rels = [mu.file] if mu.file.endswith(".c") else self.lib_sources(self.mut)
                a64 = self.a64_objects(self.mut, rels, "mut")
                changed = ["aarch64:" + k for k in rels if a64[k] != self.a64_base.get(k)]
                res["changed_objects"] = changed
            if not changed:
                res["status"] = "equivalent"
            else:
                by, _ = self.run_checks(self.mut, self.checks)
                if self.a.sabotage == "nokill":
                    by = None
                if by:
                    res.update(status="killed", killed_by=by)
                else:
                    trc, failed, tout, _ = self.run_tests(self.mut, self.tests, self.test_timeout)
                    if self.a.sabotage == "nokill":
                        trc = 0
                    if trc == 0:
                        res["status"] = "survived"
                    else:
                        real = [t for t in failed if t.startswith("build/")]
                        if real:
                            brc, bfailed, _, _ = self.run_tests(self.base, real, self.test_timeout)
                            if brc != 0:
                                res.update(status="flaky", killed_by="test " + " ".join(real) +
                                           " (fails on the base too)")
                                return self.finish(res, t0)
                        res.update(status="killed", killed_by="test " + (" ".join(
                            t.replace("build/tests/", "") for t in failed) or
                            "(rc %s)" % trc))
        return self.finish(res, t0)

    def finish(self, res, t0):
        res["seconds"] = round(time.time() - t0, 1)
        if os.path.exists(self.mut):
            shutil.rmtree(self.mut)
        return res


# ------------------------------------------------------------ reports


def summarize(results):
    c = {k: 0 for k in ("killed", "survived", "equivalent", "stillborn", "flaky")}
    for r in results:
        c[r["status"]] += 1
    scored = c["killed"] + c["survived"]
    c["score"] = round(100.0 * c["killed"] / scored, 1) if scored else None
    return c


def by_op(results):
    rows = {}
    for r in results:
        row = rows.setdefault(r["op"], {k: 0 for k in ("killed", "survived", "equivalent",
                                                        "stillborn", "flaky")})
        row[r["status"]] += 1
    return rows


def markdown(meta, results):
    c = summarize(results)
    out = ["# Mutation run", "",
           "- date: %s" % meta["date"], "- commit: %s (%s)" % (meta["commit"], meta["tree"]),
           "- machine: %s" % meta["machine"],
           "- command: `%s`" % meta["command"],
           "- mutants: %d sampled of %d (seed %s); wall time %.0f s" % (
               len(results), meta["population"], meta["seed"], meta["wall_s"]),
           "- checker: %s" % meta["checker"],
           "- baseline (unmutated): build %ss, checker %ss, tests %ss; runs dropped because "
           "they fail on the unmutated tree: %s" % (
               meta["baseline"]["build_s"], meta["baseline"]["check_s"],
               meta["baseline"]["test_s"],
               ", ".join(meta["baseline"]["checker_runs_dropped"]) or "none"), "",
           "| | killed | survived | equivalent | stillborn | flaky |",
           "|---|---|---|---|---|---|"]
    for op, row in sorted(by_op(results).items(), key=lambda kv: OPS.index(kv[0])):
        out.append("| %s | %d | %d | %d | %d | %d |" % (op, row["killed"], row["survived"],
                                                      row["equivalent"], row["stillborn"],
                                                      row["flaky"]))
    out.append("| **total** | %d | %d | %d | %d | %d |" % (c["killed"], c["survived"],
                                                         c["equivalent"], c["stillborn"],
                                                         c["flaky"]))
    out += ["", "Score (killed / (killed + survived)): %s %%" % c["score"], "",
            "## Survivors", ""]
    for r in results:
        if r["status"] == "survived":
            out.append("- `%s:%d` %s in %s(): `%s`" % (r["file"], r["line"], r["op"],
                                                     r["function"], r["diff"]))
    out += ["", "## Every mutant", "", "| id | status | by | diff |", "|---|---|---|---|"]
    for r in results:
        out.append("| %s | %s | %s | `%s` |" % (r["id"], r["status"],
                                                 r["killed_by"].replace("|", "/"),
                                                 r["diff"].replace("|", "\\|")))
    return "\n".join(out) + "\n"


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for l in f:
                if l.startswith("model name"):
                    cpu = l.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d CPUs (%s), %s" % (platform.node(), os.cpu_count() or 0, cpu,
                                    platform.platform())


# ------------------------------------------------------------ self-test


def self_test(a, work):
    """Known answers: a TLBI dropped in the unmap path is killed, a
    redundant pair of parentheses is equivalent, a syntax error is
    stillborn, and a code change with no observable effect survives."""
    r = Runner(a, work)
    r.setup(git("rev-parse", a.commit))
    muts = enumerate_mutants(r.base)
    # the per-page unmap's TLBI (unmap_page), or any TLBI dropped in an unmap function
    bad = sorted((m for m in muts if m.op == "hook-drop" and "unmap" in m.func and
                  "tlbi_" in m.note), key=lambda m: m.func != "unmap_page")
    cases = []
    cases.append(("a TLBI dropped in the unmap path (%s) is killed" %
                  (bad[0].id if bad else "none found"), bad[0] if bad else None, None, "killed"))
    ret = [m for m in muts if m.file == "src/pgtable/pgtable.c" and m.op == "cmp-negate"][0]

    def parens(text):  # wrap every `return 0;` of pgtable.c in parentheses
        return re.sub(r"\breturn 0;", "return ((0));", text)

    def syntax(text):
        return text.replace("{", "{ @", 1)

    def nop(text):  # an extra instruction on the fault path, nothing observable
        return re.sub(r"(\n(int|static int) s2_vm_fault\([^{]*\{)",
                      r'\1\n\t__asm__ __volatile__("nop");', text, count=1)

    fault = [m for m in muts if m.file == "src/mmu/fault.c"][0]
    cases.append(("redundant parentheses are equivalent", ret, parens, "equivalent"))
    cases.append(("a syntax error is stillborn", ret, syntax, "stillborn"))
    cases.append(("an unobservable nop in s2_vm_fault survives", fault, nop, "survived"))
    log("1..%d" % len(cases))
    fails = 0
    for n, (name, mu, fn, want) in enumerate(cases, 1):
        if mu is None:
            log("not ok %d - %s" % (n, name))
            fails += 1
            continue
        if fn:
            with open(os.path.join(r.base, mu.file)) as f:
                t = f.read()
            if fn(t) == t:
                log("not ok %d - %s (the edit did not apply)" % (n, name))
                fails += 1
                continue
        res = r.run_mutant(mu, fn)
        ok = res["status"] == want
        fails += not ok
        log("%s %d - %s: %s%s (%.0fs)" % ("ok" if ok else "not ok", n, name, res["status"],
                                          " by " + res["killed_by"] if res["killed_by"] else "",
                                          res["seconds"]))
    return 1 if fails else 0


# ------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true", help="list the (sampled) mutants and exit")
    ap.add_argument("--seed", type=int, default=1, help="sampling seed (1)")
    ap.add_argument("--max", type=int, default=0, help="sample size (0: every mutant)")
    ap.add_argument("--ops", default="", help="comma-separated operators (default: all)")
    ap.add_argument("--only", default="", help="comma-separated mutant ids to run")
    ap.add_argument("--tree", choices=("head", "work"), default="head",
                    help="mutate HEAD (default) or the working tree's tracked files")
    ap.add_argument("--commit", default="HEAD", help="the commit to mutate with --tree head "
                    "(HEAD)")
    ap.add_argument("--budget", type=int, default=1000, help="schedules per scenario, arm64")
    ap.add_argument("--ept-budget", type=int, default=300, help="schedules per scenario, EPT "
                    "(0: no EPT runs)")
    ap.add_argument("--weak-budget", type=int, default=500, help="schedules per scenario "
                    "with --memory weak, when the checker has it (0: none)")
    ap.add_argument("--generate", type=int, default=20, help="generated worlds when the "
                    "checker has --generate (0: none)")
    ap.add_argument("--generate-budget", type=int, default=200,
                    help="schedules per generated world")
    ap.add_argument("--check-seed", type=int, default=1, help="checker seed (1)")
    ap.add_argument("--check-timeout", type=float, default=60,
                    help="least per-command checker timeout, seconds")
    ap.add_argument("--jobs", type=int, default=2, help="make -j and prove -j (2)")
    ap.add_argument("--nice", type=int, default=15)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "mutation"),
                    help="result directory (result.json, result.md)")
    ap.add_argument("--no-werror", action="store_true",
                    help="build base and mutants with -Wno-error, so that a mutant which "
                    "only leaves a parameter or variable unused is run, not stillborn")
    ap.add_argument("--min-score", type=float, default=0,
                    help="exit 1 if the score (killed / (killed + survived), %%) is below")
    ap.add_argument("--self-test", action="store_true", help="known-answer test of the tool")
    ap.add_argument("--sabotage", choices=("noequiv", "nokill"), default="",
                    help=argparse.SUPPRESS)
    ap.add_argument("--keep", action="store_true", help="keep the temporary tree")
    a = ap.parse_args()

    if a.list:
        with tempfile.TemporaryDirectory(prefix="s2mut-") as work:
            snapshot(os.path.join(work, "t"), a.tree, a.commit)
            muts = enumerate_mutants(os.path.join(work, "t"))
        sel = select(a, muts)
        for m in sel:
            print("%-40s %-14s %s" % (m.id, m.func + "()", m.diff()))
        print("%d mutants listed of %d (%s)" % (len(sel), len(muts), ", ".join(
            "%s %d" % (op, sum(1 for m in muts if m.op == op)) for op in OPS)))
        return 0

    if a.no_werror:
        MAKE_VARS.append("EXTRA_CFLAGS=-Wno-error")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    work = tempfile.mkdtemp(prefix="s2mut-", dir="/tmp")
    try:
        if a.self_test:
            return self_test(a, work)
        return campaign(a, work)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


def select(a, muts):
    if a.ops:
        ops = a.ops.split(",")
        bad = [o for o in ops if o not in OPS]
        if bad:
            raise SystemExit("unknown operator(s): %s (have %s)" % (bad, ", ".join(OPS)))
        muts = [m for m in muts if m.op in ops]
    if a.only:
        ids = a.only.split(",")
        return [m for m in muts if m.id in ids]
    return sample(muts, a.seed, a.max)


def campaign(a, work):
    t0 = time.time()
    commit = git("rev-parse", a.commit)
    r = Runner(a, work)
    base = r.setup(commit)
    muts = enumerate_mutants(r.base)
    sel = select(a, muts)
    checker = "%d runs per mutant (%s; arm64 budget %d, EPT budget %d, weak budget %d%s), " \
              "seed %d; then " \
              "prove -j%d of the %d test programs" % (
                  len(r.checks), ", ".join(sorted(set(l.split(":")[0] for l, _ in r.checks))),
                  a.budget, a.ept_budget, a.weak_budget,
                  ", %d generated worlds x %d" % (a.generate, a.generate_budget)
                  if any(l == "check-generate" for l, _ in r.checks) else
                  ", no --generate in this checker", a.check_seed, a.jobs, len(r.tests))
    log("%d mutants in the population, %d selected" % (len(muts), len(sel)))
    os.makedirs(a.out, exist_ok=True)
    results = []
    meta = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit if a.tree == "head" else commit + "+working tree",
            "tree": "HEAD" if a.tree == "head" else "working tree",
            "machine": machine(), "command": " ".join(["tools/mutation.py"] + sys.argv[1:]),
            "population": len(muts), "seed": a.seed, "checker": checker, "baseline": base,
            "population_by_op": {op: sum(1 for m in muts if m.op == op) for op in OPS}}
    for k, mu in enumerate(sel, 1):
        res = r.run_mutant(mu)
        d = mu.to_dict()
        d.update(res)
        d["diff"] = mu.diff()
        results.append(d)
        log("[%d/%d] %-9s %5.1fs %s %s%s" % (k, len(sel), res["status"], res["seconds"], mu.id,
                                              mu.diff()[:90], "  <- " + res["killed_by"]
                                              if res["killed_by"] else ""))
        meta["wall_s"] = time.time() - t0
        with open(os.path.join(a.out, "result.json"), "w") as f:
            json.dump({"meta": meta, "summary": summarize(results), "by_op": by_op(results),
                       "mutants": results}, f, indent=1)
        with open(os.path.join(a.out, "result.md"), "w") as f:
            f.write(markdown(meta, results))
    c = summarize(results)
    log("")
    log("killed %d  survived %d  equivalent %d  stillborn %d  flaky %d  score %s %%  (%.0f s)" %
        (c["killed"], c["survived"], c["equivalent"], c["stillborn"], c["flaky"], c["score"],
         time.time() - t0))
    for d in results:
        if d["status"] == "survived":
            log("survivor %s:%d %s %s" % (d["file"], d["line"], d["op"], d["diff"]))
    log("results: %s/result.json, %s/result.md" % (a.out, a.out))
    if a.min_score and (c["score"] is None or c["score"] < a.min_score):
        log("score below --min-score %s" % a.min_score)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
