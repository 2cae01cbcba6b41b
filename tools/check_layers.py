#!/usr/bin/env python3
"""tools/check_layers.py -- check that the glue's dependencies point down.

The PostgreSQL glue lives in layers, one folder each, top to bottom:

    api -> worker -> engine -> refresh -> store -> shmem -> base -> core

A file may use (call, read) only what its own layer or the layers below
define, and include only their headers.  This script checks it twice:

  * includes: every #include "x/y.h" of src/<layer>/ names a header of the
    same layer or one below;
  * symbols: from the compiled objects (nm), every symbol a file uses that
    another file of src/ defines is defined in the same layer or below, and
    the files of src/ form no circle (file A uses B, B uses ... A).

Run it after `make` (the objects must be built):

    python3 tools/check_layers.py          # prints the graph, exit 1 on a violation
    python3 tools/check_layers.py --quiet  # only violations

`make test` runs it.
"""
import collections
import os
import re
import subprocess
import sys

LAYERS = ['api', 'worker', 'engine', 'refresh', 'store', 'shmem', 'base', 'core']
RANK = {name: len(LAYERS) - i for i, name in enumerate(LAYERS)}  # higher = above


def layer_of(path):
    parts = path.split(os.sep)
    return parts[1] if len(parts) > 2 and parts[0] == 'src' else None


def check_includes(top, problems):
    for dirpath, _, files in os.walk(os.path.join(top, 'src')):
        for f in sorted(files):
            if not f.endswith(('.c', '.h')):
                continue
            path = os.path.relpath(os.path.join(dirpath, f), top)
            mine = layer_of(path)
            if mine is None or mine not in RANK:
                problems.append(f'{path}: not in a layer folder')
                continue
            with open(os.path.join(top, path), encoding='utf-8') as fh:
                for n, line in enumerate(fh, 1):
                    m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                    if not m:
                        continue
                    inc = m.group(1)
                    first = inc.split('/')[0]
                    if '/' in inc and first in RANK:
                        target = first
                    elif '/' not in inc and os.path.exists(os.path.join(top, 'src', 'core', inc)):
                        target = 'core'
                    elif '/' not in inc and os.path.exists(os.path.join(dirpath, inc)):
                        target = mine
                    else:
                        continue    # a PostgreSQL header
                    if RANK[target] > RANK[mine]:
                        problems.append(f'{path}:{n}: includes "{inc}" of layer {target}, above {mine}')


def symbols(top):
    defined, used = {}, collections.defaultdict(set)
    for dirpath, _, files in os.walk(os.path.join(top, 'src')):
        for f in sorted(files):
            if not f.endswith('.o'):
                continue
            obj = os.path.relpath(os.path.join(dirpath, f), top)
            if not os.path.exists(os.path.join(top, obj[:-2] + '.c')):
                continue    # left over from a source that is gone
            out = subprocess.run(['nm', os.path.join(top, obj)], capture_output=True,
                                 text=True, check=True).stdout
            name = obj[:-2] + '.c'
            for line in out.splitlines():
                fields = line.split()
                if len(fields) == 2 and fields[0] == 'U':
                    used[name].add(fields[1])
                elif len(fields) == 3 and fields[1] in 'TDBRC':
                    defined[fields[2]] = name
    return defined, used


def find_cycle(edges):
    """A circle in the file graph, as a list of files, or None."""
    state = {}
    stack = []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state:
                c = visit(w)
                if c:
                    return c
        stack.pop()
        state[v] = 2
        return None

    for v in sorted(edges):
        if v not in state:
            c = visit(v)
            if c:
                return c
    return None


def main():
    quiet = '--quiet' in sys.argv
    top = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
    problems = []
    check_includes(top, problems)
    defined, used = symbols(top)
    if not defined:
        print('check_layers: no objects under src/: run make first')
        return 1
    edges = collections.defaultdict(dict)
    for f, syms in used.items():
        for s in syms:
            g = defined.get(s)
            if g and g != f:
                edges[f].setdefault(g, []).append(s)
    for f in sorted(edges):
        for g, syms in sorted(edges[f].items()):
            lf, lg = layer_of(f), layer_of(g)
            if RANK.get(lg, 0) > RANK.get(lf, 0):
                problems.append(f'{f} ({lf}) uses {", ".join(sorted(syms))} of {g} ({lg}): an arrow up')
    cycle = find_cycle({f: set(g) for f, g in edges.items()})
    if cycle:
        problems.append('a circle: ' + ' -> '.join(cycle))
    if not quiet:
        for f in sorted(edges, key=lambda f: (-RANK.get(layer_of(f), 0), f)):
            print(f'{f} -> ' + ', '.join(f'{g} ({len(s)})' for g, s in sorted(edges[f].items())))
    for p in problems:
        print('check_layers: ' + p)
    nfiles = len(used)
    print(f'check_layers: {nfiles} files in {len(LAYERS)} layers, '
          f'{sum(len(g) for g in edges.values())} file dependencies, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
