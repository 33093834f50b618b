#!/usr/bin/env python3
"""Import cycles between the modules of one crate's src/, at every level of the module tree.

Usage: modcycles.py CRATE_NAME SRC_DIR ALLOW_FILE

A module is a file (NAME.rs, NAME/mod.rs, or the files under NAME/). Paths written in code
(`use` trees, expanded, and inline `crate::`/`super::`/`self::` paths) are resolved to the module
they name; a path from module A to module B counts as an edge between the two children of
their deepest common parent (so `crate::connection::writing` written in `connection/busy.rs` is
the edge busy -> writing inside `connection`, and `crate::transport` written anywhere under
`connection/` is connection -> transport at the top). Paths to a module's own ancestors or
descendants are not edges. Test code is left out: files named tests.rs or *_tests.rs, and the
item after each `#[cfg(test)]`. Comments and string literals are left out (a doc link is not an
import).

Every cycle (strongly connected component of more than one sibling) must be listed in
ALLOW_FILE, one per line as `CRATE PARENT: a b c` with the members sorted; a cycle not listed,
or a listed cycle that no longer exists exactly so, fails the check (exit 1).
"""
import os
import re
import sys

IDENT = r'[A-Za-z_][A-Za-z0-9_]*'


def strip_comments_and_strings(text):
    """The text with comments, string and char literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('//', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
        elif text.startswith('/*', i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith('/*', i):
                    depth, i = depth + 1, i + 2
                elif text.startswith('*/', i):
                    depth, i = depth - 1, i + 2
                else:
                    out.append('\n' if text[i] == '\n' else '')
                    i += 1
        elif re.match(r'(b?r#*")', text[i:i + 8]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == '_')):
            m = re.match(r'b?r(#*)"', text[i:])
            end = text.find('"' + m.group(1), i + m.end())
            end = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""' + '\n' * text.count('\n', i, end))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == '\\' else 1
            out.append('""' + '\n' * text.count('\n', i, j))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'|'\\[xu][^']*'", text[i:i + 12]):
            m = re.match(r"'(\\.|[^\\'])'|'\\[xu][^']*'", text[i:i + 12])
            out.append("' '")
            i += m.end()
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def drop_test_items(text):
    """The text without the item that follows each `#[cfg(test)]`."""
    while True:
        at = text.find('#[cfg(test)]')
        if at < 0:
            return text
        i = at + len('#[cfg(test)]')
        # The item ends at its first `;` before any `{`, or at the `}` closing its first `{`.
        depth = 0
        while i < len(text):
            if text[i] == ';' and depth == 0:
                i += 1
                break
            if text[i] == '{':
                depth += 1
            elif text[i] == '}':
                depth -= 1
                if depth == 0:
                    i += 1
                    break
            i += 1
        text = text[:at] + text[i:]


def expand_use_tree(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r'\s+as\s+', '@', tree.strip())
    tree = re.sub(r'\s+', '', tree)
    at = tree.find('{')
    if at < 0:
        return [re.sub('@' + IDENT + '$', '', tree)]
    prefix, body = tree[:at], tree[at + 1:tree.rfind('}')]
    parts, depth, start = [], 0, 0
    for i, c in enumerate(body):
        if c == '{':
            depth += 1
        elif c == '}':
            depth -= 1
        elif c == ',' and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    paths = []
    for part in parts:
        if part:
            paths.extend(prefix + p for p in expand_use_tree(part))
    return paths


def module_of(rel):
    """src-relative file path -> module path as a tuple (lib.rs -> ())."""
    parts = rel[:-3].split(os.sep)
    if parts[-1] in ('mod', 'lib', 'main'):
        parts = parts[:-1]
    return tuple(parts)


def resolve(path, here, modules):
    """The module a `crate::`/`super::`/`self::` path names, as the longest known prefix."""
    segs = [s for s in path.split('::') if s]
    if not segs:
        return None
    if segs[0] == 'crate':
        base, rest = [], segs[1:]
    elif segs[0] in ('super', 'self'):
        base = list(here)
        rest = segs
        while rest and rest[0] in ('super', 'self'):
            if rest[0] == 'super':
                if not base:
                    return None
                base.pop()
            rest = rest[1:]
    else:
        return None
    target = tuple(base)
    for seg in rest:
        if target + (seg,) in modules:
            target = target + (seg,)
        else:
            break
    return target


def main():
    crate, src, allow_file = sys.argv[1], sys.argv[2], sys.argv[3]
    texts = {}
    for root, _, files in os.walk(src):
        for f in sorted(files):
            if not f.endswith('.rs') or f == 'tests.rs' or f.endswith('_tests.rs'):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, src)
            if '/tests/' in '/' + rel or rel.startswith('bin' + os.sep):
                continue
            with open(path, encoding='utf-8', errors='replace') as fh:
                text = drop_test_items(strip_comments_and_strings(fh.read()))
            texts.setdefault(module_of(rel), []).append(text)
    modules = set(texts)
    for m in list(modules):
        for k in range(len(m)):
            modules.add(m[:k])

    # edges[parent][a] = {b, ...} between children a, b of parent
    edges = {}
    for here, chunks in texts.items():
        for text in chunks:
            paths = []
            for tree in re.findall(r'\buse\s+((?:crate|super|self)\b[^;]*);', text):
                paths.extend(expand_use_tree(tree))
            paths.extend(re.findall(r'\b(?:crate|super|self)(?:::' + IDENT + r')+', text))
            for path in paths:
                target = resolve(path, here, modules)
                if target is None:
                    continue
                k = 0
                while k < min(len(here), len(target)) and here[k] == target[k]:
                    k += 1
                if k == len(here) or k == len(target):
                    continue  # an ancestor or a descendant
                parent = '/'.join(here[:k]) or '(root)'
                edges.setdefault(parent, {}).setdefault(here[k], set()).add(target[k])

    found = set()
    for parent, graph in edges.items():
        for comp in strongly_connected(graph):
            if len(comp) > 1:
                found.add('%s %s: %s' % (crate, parent, ' '.join(sorted(comp))))

    allowed = set()
    if os.path.exists(allow_file):
        with open(allow_file, encoding='utf-8') as fh:
            for line in fh:
                line = line.split('#')[0].strip()
                if line.startswith(crate + ' '):
                    allowed.add(re.sub(r'\s+', ' ', line))
    bad = False
    for cycle in sorted(found):
        if cycle in allowed:
            print('allowed cycle: ' + cycle)
        else:
            print('NEW cycle: ' + cycle)
            bad = True
    for cycle in sorted(allowed - found):
        print('allowed cycle no longer there (remove it from %s): %s' % (allow_file, cycle))
        bad = True
    count = sum(len(b) for g in edges.values() for b in g.values())
    print('%s: %d modules, %d edges, %d cycles' % (crate, len(modules), count, len(found)))
    return 1 if bad else 0


def strongly_connected(graph):
    """Tarjan's strongly connected components of {node: {node}}, iteratively."""
    nodes = set(graph) | {w for ws in graph.values() for w in ws}
    index, low, on, stack, comps, counter = {}, {}, set(), [], [], [0]
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            advanced = False
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                comps.append(comp)
    return comps


if __name__ == '__main__':
    sys.exit(main())
