"""Checks the relative links of the markdown files named on the command line (see links.sh).

A link is checked when its target is a path (not a URL, not a rustdoc intra-doc path such as
`crate::serving` or `framekit::FrameCodec`, not a bare item name): the file must exist relative
to the linking file, and a `#fragment` into a markdown file must name one of its headings as
GitHub spells anchors. Links inside fenced code blocks and inline code are not links.
"""

import os
import re
import sys

LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`[^`\n]*`")


def github_anchor(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def prose_lines(path):
    """The file's lines outside fenced code blocks, with their numbers."""
    fenced = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            if not fenced:
                yield number, line


def anchors(path):
    """Every anchor the markdown file's headings give, duplicates numbered as GitHub does."""
    seen = {}
    found = set()
    for _, line in prose_lines(path):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        base = github_anchor(m.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def is_checked(target):
    """Whether a link target is a relative path this script checks."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:, ...
        return False
    if "::" in target:  # rustdoc intra-doc path
        return False
    path = target.split("#", 1)[0]
    if path == "":
        return True  # an anchor into the same file
    # A bare Rust item name (`Framing`, `FrameCodec`) is an intra-doc link, not a file.
    return "/" in path or "." in path


def check(md):
    broken = []
    base = os.path.dirname(md)
    for number, line in prose_lines(md):
        for m in LINK.finditer(INLINE_CODE.sub("", line)):
            target = m.group(1)
            if not is_checked(target):
                continue
            path, _, fragment = target.partition("#")
            resolved = os.path.normpath(os.path.join(base, path)) if path else md
            if not os.path.exists(resolved):
                broken.append(f"{md}:{number}: {target}: no such file {resolved}")
                continue
            if fragment and resolved.endswith(".md") and fragment not in anchors(resolved):
                broken.append(f"{md}:{number}: {target}: no heading '#{fragment}' in {resolved}")
    return broken


def main(files):
    broken = [b for md in files for b in check(md)]
    for b in broken:
        print(f"broken link: {b}", file=sys.stderr)
    print(f"links: {len(files)} markdown files checked, {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
