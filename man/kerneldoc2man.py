#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# kerneldoc2man.py - one man page per exported function, made from its kernel-doc comment
# in jobstat.h, so the pages cannot drift from the header.
#
#   kerneldoc2man.py HEADER OUTDIR VERSION    writes OUTDIR/jst_*.3, prints their names;
#   a function without such a comment gets a warning here and fails tests/check-man.sh.
"""Turn each JST_EXPORT declaration's /** name() - ... */ comment into a man(7) page."""
import os
import re
import sys

DECL = re.compile(r"^JST_EXPORT\s+([^;]*?\b(jst_\w+)\s*\([^;]*\));", re.M | re.S)
COMMENT = re.compile(r"/\*\*(.*?)\*/", re.S)


def roff(text):
    """Escape @text for roff: backslashes, and a leading dot or quote."""
    text = text.replace("\\", "\\e")
    return "\n".join("\\&" + l if l.startswith((".", "'")) else l for l in text.split("\n"))


def bold_refs(text, names):
    """jst_foo() -> \\fBjst_foo\\fR() for the functions that have a page; @arg in italics."""
    text = re.sub(r"@(\w+)", r"\\fI\1\\fR", text)
    return re.sub(r"\b(jst_\w+)\(\)",
                  lambda m: "\\fB%s\\fR()" % m.group(1) if m.group(1) in names else m.group(0),
                  text)


def parse(comment, name):
    """The comment's summary, parameters [(name, text)], description paragraphs, return."""
    lines = [re.sub(r"^\s*\* ?", "", l).rstrip() for l in comment.strip("\n").split("\n")]
    text = "\n".join(lines).strip()
    head = re.match(r"\s*%s\(\)\s*-\s*" % re.escape(name), text)
    if not head:
        return None
    text = text[head.end():]
    ret = None
    m = re.search(r"(^|\s)Return:\s*", text)
    if m:
        ret = " ".join(text[m.end():].split())
        text = text[:m.start()]
    params, paras, cur = [], [], []
    in_param = False  # lines right after an @param: line, up to a blank one, continue it
    for line in text.split("\n"):
        pm = re.match(r"@(\w+):\s*(.*)", line)
        if pm:
            if cur:
                paras.append(" ".join(cur))
                cur = []
            params.append([pm.group(1), pm.group(2)])
            in_param = True
        elif not line.strip():
            if cur:
                paras.append(" ".join(cur))
            cur = []
            in_param = False
        elif in_param:
            params[-1][1] += " " + line.strip()
        else:
            cur.append(line.strip())
    if cur:
        paras.append(" ".join(cur))
    summary = paras[0] if paras else ""
    # The NAME line: the first sentence of the first paragraph.
    first = re.split(r"(?<=[.:;])\s", summary, maxsplit=1)[0].rstrip(".:;")
    return first, params, paras, ret


STRUCT = re.compile(r"^struct (jst_\w+) \{\n.*?^\};\n", re.M | re.S)


def page(name, proto, info, names, version, structs):
    first, params, paras, ret = info
    proto = " ".join(proto.split())
    used = [structs[s] for s in re.findall(r"struct (jst_\w+)", proto) if s in structs]
    out = [
        ".\\\" SPDX-License-Identifier: MIT",
        ".\\\" %s.3 - made by man/kerneldoc2man.py from jobstat.h; edit the header." % name,
        '.TH %s 3 "" "jobstat %s" "Library Functions"' % (name.upper(), version),
        ".SH NAME",
        "%s \\- %s" % (name, roff(first.replace("@", ""))),
        ".SH SYNOPSIS",
        ".nf",
        ".B #include <jobstat.h>",
        ".PP",
        ".B \"%s;\"" % roff(proto).replace('"', '\\(dq'),
    ]
    for body in used:  # the structures it reads or fills, as the header defines them
        out += [".PP"] + [roff(l.replace("\t", "        ")) for l in body.rstrip().split("\n")]
    out += [
        ".fi",
        ".PP",
        "Link with",
        ".IR \"$(pkg\\-config \\-\\-cflags \\-\\-libs jobstat)\" .",
        ".SH DESCRIPTION",
    ]
    if paras:
        paras[0] = paras[0][:1].upper() + paras[0][1:]
    for i, p in enumerate(paras):
        if i:
            out.append(".PP")
        out.append(bold_refs(roff(p), names))
    if params:
        out.append(".SS Parameters")
        for pname, ptext in params:
            out += [".TP", ".I %s" % pname, bold_refs(roff(ptext), names)]
    out.append(".SH RETURN VALUE")
    if ret:
        out.append(bold_refs(roff(ret), names))
    else:
        out.append("See DESCRIPTION.")
    out.append(".PP")
    out.append("Negative codes are the\n.B JST_E*\nvalues of\n.IR <jobstat.h> ;\n"
               ".BR jst_strerror (3)\ndescribes one.")
    refs = sorted(set(re.findall(r"\b(jst_\w+)\(\)", " ".join(paras + [ret or ""] +
                                                            [p[1] for p in params])))
                  & names - {name})
    out.append(".SH SEE ALSO")
    out.append(",\n".join([".BR libjobstat (3)"] + [".BR %s (3)" % r for r in refs]))
    return "\n".join(out) + "\n"


def main():
    header, outdir, version = sys.argv[1:4]
    src = open(header, encoding="utf-8").read()
    decls = [(m.group(2), m.group(1), m.start()) for m in DECL.finditer(src)]
    names = {d[0] for d in decls}
    structs = {m.group(1): m.group(0) for m in STRUCT.finditer(src)}
    os.makedirs(outdir, exist_ok=True)
    missing = []
    for name, proto, pos in decls:
        info = None
        for c in COMMENT.finditer(src, 0, pos):
            found = parse(c.group(1), name)
            if found:
                info = found
        if not info:
            missing.append(name)
            continue
        with open(os.path.join(outdir, name + ".3"), "w", encoding="utf-8") as f:
            f.write(page(name, proto, info, names, version, structs))
        print(name)
    if missing:
        # tests/check-man.sh fails on these in make test; the build goes on.
        sys.stderr.write("kerneldoc2man: warning: no /** %s() - ... */ comment in %s\n"
                         % ("(), ".join(missing), header))
    return 0


if __name__ == "__main__":
    sys.exit(main())
