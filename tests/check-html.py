#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""make html-test: the counterexample that `s2mmu check --html` writes,
opened in headless Chromium (TAP, for prove).

For two bugs (two and three threads) it writes the HTML, then
  - loads a copy of it with a probe script appended into Chromium and
    reads back (--dump-dom) what the browser laid out: the SVG's size, one
    lane per thread of the text timeline with its name, every step box,
    the marked steps with their roles, the violation line and the
    sentence on why the marked steps conflict, each with a nonzero box;
  - takes a screenshot of the page itself and counts the pixels of the
    lane headers and of the marked steps' colours, so the diagram was
    painted and not only parsed.

Usage: check-html.py BUILD [SCREENSHOT.png]  (from the source tree's root;
with SCREENSHOT.png, the first bug's screenshot is kept there)
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]

# Laid out by the browser, reported back as JSON in <pre id="probe">.
PROBE = r"""
<script>
(function () {
  function box(e) {
    if (!e) return null;
    var r = e.getBoundingClientRect();
    return { w: Math.round(r.width), h: Math.round(r.height) };
  }
  var svg = document.querySelector('svg');
  var lanes = Array.prototype.map.call(document.querySelectorAll('svg g.lane'), function (g) {
    return { name: g.querySelector('text').textContent, box: box(g.querySelector('rect')),
             line: box(g.querySelector('line')) };
  });
  var steps = document.querySelectorAll('svg g.step');
  var marks = Array.prototype.map.call(document.querySelectorAll('svg g.step.mark'), function (g) {
    return { role: g.getAttribute('data-role'), text: g.querySelectorAll('text')[1].textContent,
             box: box(g.querySelector('rect')) };
  });
  var shown = 0;
  Array.prototype.forEach.call(steps, function (g) {
    var b = box(g.querySelector('rect'));
    if (b && b.w > 0 && b.h > 0) shown++;
  });
  var v = document.getElementById('violation'), why = document.getElementById('why');
  var out = { svg: box(svg), lanes: lanes, steps: steps.length, steps_shown: shown,
              marks: marks, violation: v ? v.textContent : null, violation_box: box(v),
              why: why ? why.textContent : null, why_box: box(why) };
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""

n = 0
failed = 0


def ok(cond, what, diag=None):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))
    if not cond:
        failed += 1
        for l in str(diag or "").splitlines():
            print("# " + l)
    return cond


def chromium(tmp, *args):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    prof = tempfile.mkdtemp(dir=tmp)
    cmd = [exe] + CHROMIUM_FLAGS + ["--user-data-dir=" + prof] + list(args)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=120)


def png_pixels(path):
    """Width, height and RGB rows of an 8-bit RGB/RGBA PNG (what
    Chromium writes), decoded with zlib alone."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        ln, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + ln]
        if typ == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), "PNG depth %d type %d" % (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif typ == b"IDAT":
            idat += body
        pos += 12 + ln
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def count_colours(path, colours):
    w, h, bpp, rows = png_pixels(path)
    counts = dict.fromkeys(colours, 0)
    for r in rows:
        for x in range(0, w * bpp, bpp):
            px = (r[x], r[x + 1], r[x + 2])
            if px in counts:
                counts[px] += 1
    return counts


def timeline_threads(text):
    """Thread names from the text timeline's header (36-column lanes)."""
    lines = text.split("\n")
    for i, l in enumerate(lines):
        if i + 1 < len(lines) and lines[i + 1].startswith("-" * 30):
            return [l[k:k + 36].strip() for k in range(0, len(l.rstrip()), 36)]
    return []


def one(build, tmp, scenario, bug, keep=None):
    html = os.path.join(tmp, bug + ".html")
    r = subprocess.run([os.path.join(build, "s2mmu"), "check", "--scenario", scenario,
                        "--inject", bug, "--html", html], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120)
    if not ok(r.returncode == 0 and os.path.exists(html),
              "%s: s2mmu check --inject %s --html wrote the counterexample" % (scenario, bug),
              r.stdout):
        return
    threads = timeline_threads(r.stdout)
    inv = re.search(r">>> violated (I\d+)", r.stdout)
    inv = inv.group(1) if inv else "?"

    probe = os.path.join(tmp, bug + "-probe.html")
    page = open(html).read()
    open(probe, "w").write(page.replace("</body>", PROBE + "</body>"))
    c = chromium(tmp, "--dump-dom", "file://" + probe)
    m = re.search(r'<pre id="probe">(.*?)</pre>', c.stdout, re.S)
    if not ok(m is not None, "%s: Chromium loaded the page and ran the probe" % bug,
              c.stderr[-2000:]):
        return
    j = json.loads(m.group(1).replace("&quot;", '"').replace("&lt;", "<")
                   .replace("&gt;", ">").replace("&amp;", "&"))
    ok(j["svg"] and j["svg"]["w"] > 300 and j["svg"]["h"] > 100,
       "%s: the SVG sequence diagram is laid out (%s)" % (bug, j["svg"]))
    names = [l["name"].strip() for l in j["lanes"]]
    ok(len(threads) >= 2 and names == threads and
       all(l["box"]["w"] > 0 and l["line"]["h"] > 0 for l in j["lanes"]),
       "%s: one lane per thread, drawn: %s" % (bug, names), "timeline: %s" % threads)
    ok(j["steps"] > 5 and j["steps_shown"] == j["steps"],
       "%s: every step box drawn (%d of %d)" % (bug, j["steps_shown"], j["steps"]))
    ok(j["violation"] and ("violated " + inv) in j["violation"] and
       j["violation_box"]["h"] > 0,
       "%s: the violation line is shown (%s)" % (bug, (j["violation"] or "")[:60]))
    roles = {k["role"] for k in j["marks"]}
    ok({"access", "fill", "raced"} <= roles and
       all(k["box"]["w"] > 0 for k in j["marks"]),
       "%s: the access, its fill and what raced are marked: %s" % (bug, sorted(roles)),
       json.dumps(j["marks"]))
    why = j["why"] or ""
    steps_named = {int(s) for s in re.findall(r"step (\d+)", why)}
    ok(why.startswith("Why they conflict:") and ("(" + inv + ")") in why and
       j["why_box"]["h"] > 0 and len(steps_named) >= 3,
       "%s: one sentence says why the marked steps conflict" % bug, why)

    png = os.path.join(tmp, bug + ".png")
    # tall enough for the whole diagram: the marks may be at its bottom
    c = chromium(tmp, "--window-size=1280,%d" % (j["svg"]["h"] + 450), "--screenshot=" + png,
                 "file://" + html)
    if not ok(os.path.exists(png), "%s: Chromium took a screenshot" % bug, c.stderr[-2000:]):
        return
    lane_fill, access_fill, raced_fill = (0xdd, 0xdd, 0xee), (0xff, 0xdd, 0xdd), \
        (0xf6, 0xd8, 0xf6)
    cnt = count_colours(png, [lane_fill, access_fill, raced_fill])
    ok(cnt[lane_fill] > 2000 * len(threads) and cnt[access_fill] > 1000 and
       cnt[raced_fill] > 1000,
       "%s: painted: lane headers, the marked access and raced steps (pixels %s)" %
       (bug, {"lane": cnt[lane_fill], "access": cnt[access_fill], "raced": cnt[raced_fill]}))
    if keep:
        shutil.copyfile(png, keep)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    keep = sys.argv[2] if len(sys.argv) > 2 else None
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        print("Bail out! no chromium (make html-test installs Debian's chromium as root)")
        return 1
    tmp = tempfile.mkdtemp()
    try:
        one(build, tmp, "fault_vs_dontneed", "fault_no_retry", keep)
        one(build, tmp, "fault_vs_two_invals", "range_add_overwrite")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
