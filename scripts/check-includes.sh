#!/usr/bin/env bash
# Fails when the source modules include each other in a circle. A module is a file's basename
# without .c/.h (x.c and x.h are one module); an edge runs from a module to every module whose
# header it includes with #include "…". Prints each cycle found and exits 1.
#   scripts/check-includes.sh [root]     check the tree at root (default: the repository)
#   scripts/check-includes.sh --self-test
#     builds temporary trees, one with a cycle through a third module and one without, and
#     checks that the first fails and the second passes.
set -euo pipefail
DIRS=(drivers rules ledger notify daemon tools)

check() { # root
  local root=$1
  local dirs=() d
  for d in "${DIRS[@]}"; do [ -d "$root/$d" ] && dirs+=("$d"); done
  [ ${#dirs[@]} -gt 0 ] || { echo "check-includes: no source folders under $root" >&2; return 2; }
  (cd "$root" && find "${dirs[@]}" -type f \( -name '*.c' -o -name '*.h' \) | sort) |
    (cd "$root" && /usr/bin/python3 -c '
import os, re, sys
inc = re.compile(r"^\s*#\s*include\s+\"([^\"]+)\"")
edges = {}
for path in sys.stdin.read().split():
    mod = os.path.splitext(os.path.basename(path))[0]
    edges.setdefault(mod, set())
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = inc.match(line)
            if m:
                dep = os.path.splitext(os.path.basename(m.group(1)))[0]
                if dep != mod:
                    edges[mod].add(dep)
# Tarjan: every strongly connected component of more than one module is a circle.
index, low, stack, on, comps, n = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = n[0]; n[0] += 1
    stack.append(v); on.add(v)
    for w in sorted(edges.get(v, ())):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: comps.append(sorted(comp))
sys.setrecursionlimit(10000)
for v in sorted(edges):
    if v not in index: visit(v)
def path(comp):  # one concrete circle inside the component, for the message
    start, members = comp[0], set(comp)
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges.get(v, ())):
            if w == start:
                out = [v]
                while prev[out[-1]] is not None: out.append(prev[out[-1]])
                return " -> ".join(reversed(out)) + " -> " + start
            if w in members and w not in prev:
                prev[w] = v; queue.append(w)
    return " ".join(comp)
for c in comps:
    print("include cycle among {%s}: %s" % (", ".join(c), path(c)))
sys.exit(1 if comps else 0)
')
}

self_test() {
  local tmp rc=0
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  mkdir -p "$tmp/bad/daemon" "$tmp/bad/ledger" "$tmp/good/daemon"
  # a.c -> b.h, b.h -> c.h, c.c -> a.h: a circle only through the third module.
  printf '#include "a.h"\n#include "b.h"\n' >"$tmp/bad/daemon/a.c"
  printf '#include "store.h"\n' >"$tmp/bad/daemon/a.h"
  printf '#include "c.h"\n' >"$tmp/bad/daemon/b.h"
  printf '#include "c.h"\n#include "a.h"\n' >"$tmp/bad/ledger/c.c"
  : >"$tmp/bad/ledger/c.h"
  printf '#include "a.h"\n#include "b.h"\n' >"$tmp/good/daemon/a.c"
  printf '#include "c.h"\n' >"$tmp/good/daemon/b.h"
  : >"$tmp/good/daemon/c.h"
  local out
  if out=$(check "$tmp/bad"); then
    echo "check-includes self-test: a cycle a -> b -> c -> a was not detected" >&2
    rc=1
  elif ! grep -q 'a -> b -> c -> a' <<<"$out"; then
    echo "check-includes self-test: the cycle was not named: $out" >&2
    rc=1
  fi
  if ! out=$(check "$tmp/good"); then
    echo "check-includes self-test: an acyclic tree was refused: $out" >&2
    rc=1
  fi
  [ "$rc" -eq 0 ] && echo "check-includes self-test: ok"
  return "$rc"
}

if [ "${1:-}" = --self-test ]; then
  self_test
  exit
fi
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
if check "$root"; then
  echo "check-includes: no include cycles"
else
  exit 1
fi
