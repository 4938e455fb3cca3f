"""LEF/DEF readers compared: placer's own against the PyPI parsers.

    pip install --target /tmp/lefdef_pkgs lefdef sc-leflib   # not project deps
    PYTHONPATH=$PWD python experiments/bench_lefdef.py --pkgs /tmp/lefdef_pkgs

Each reader runs in its own subprocess (so peak RSS is its own, and includes
the imports: placer's package import loads JAX), three times;
the table shows the median seconds and the peak RSS. Then each reads the same
malformed DEF and LEF, and the table shows the first line of what it reports.
Results: experiments/results_lefdef.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from _paths import ROOT, SHARED

CT_ARIANE = SHARED / "netlists" / "lefdef" / "ct_ariane"

# Each snippet reads `DEF` / `LEF` and prints a JSON line with counts.
SNIPPETS = {
    "placer (DEF+LEF -> Netlist)": """
nl = read_def(DEF, [LEF])
out = dict(components=int(len(nl.hard_macros) + len(nl.stdcells)), nets=nl.num_nets)
""",
    "placer LEF only": """
lib = read_lef(LEF)
out = dict(macros=len(lib.macros))
""",
    "lefdef 0.6.0 (Si2 parser) DEF": """
d = C_DefReader().read(DEF)
out = dict(components=d.c_num_components, nets=d.c_num_nets)
""",
    "lefdef 0.6.0 DEF + its data copied to Python lists": """
d = C_DefReader().read(DEF)
comps = [(c.c_id, c.c_name, c.c_status, c.c_x, c.c_y, c.c_orient)
         for c in d.c_components[:d.c_num_components]]
nets = [(n.c_name, n.c_instances[:n.c_num_pins], n.c_pins[:n.c_num_pins])
        for n in d.c_nets[:d.c_num_nets]]
out = dict(components=len(comps), connections=sum(len(n[1]) for n in nets))
""",
    "lefdef 0.6.0 (Si2 parser) LEF": """
lib = C_LefReader().read(LEF)
out = dict(macros=lib.c_num_macros)
""",
    "sc-leflib 0.5.2 (Si2 LEF parser) LEF": """
lib = sc_leflib.parse(LEF)
out = dict(macros=len(lib["macros"]) if lib else None)
""",
}

# Imports happen before the clock starts (placer's package import loads JAX).
RUN = """
import json, resource, sys, time
from placer.netlist.def_io import read_def
from placer.netlist.lef import read_lef
try:
    from lefdef import C_DefReader, C_LefReader
    import sc_leflib
except ImportError:
    pass
DEF, LEF = sys.argv[1], sys.argv[2]
t = time.perf_counter()
{body}
out["seconds"] = time.perf_counter() - t
out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(out))
"""


def run(body: str, def_path: str, lef_path: str, env: dict) -> dict:
    p = subprocess.run([sys.executable, "-c", RUN.format(body=body), def_path,
                        lef_path], capture_output=True, text=True, env=env,
                       timeout=600)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    msg = (p.stderr.strip().splitlines() or p.stdout.strip().splitlines()
           or ["(nothing)"])
    return {"error": msg[-1][:160], "stdout": p.stdout.strip()[:300]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pkgs", default="/tmp/lefdef_pkgs")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=f"{ROOT}:{a.pkgs}")
    tmp = tempfile.mkdtemp()
    def_path = os.path.join(tmp, "ariane.def")      # the Si2 readers take no .gz
    with gzip.open(f"{CT_ARIANE}/ariane.def.gz", "rb") as f, open(def_path, "wb") as g:
        shutil.copyfileobj(f, g)
    lef_path = f"{CT_ARIANE}/ariane.lef"
    print(f"load average before: {os.getloadavg()}")
    print("| reader | median s | peak RSS MB | counts |\n|---|---|---|---|")
    for name, body in SNIPPETS.items():
        res = [run(body, def_path, lef_path, env) for _ in range(a.repeat)]
        ok = [r for r in res if "seconds" in r]
        if not ok:
            print(f"| {name} | failed | | {res[0].get('error')} |")
            continue
        counts = {k: v for k, v in ok[0].items() if k not in ("seconds", "rss_mb")}
        print(f"| {name} | {statistics.median(r['seconds'] for r in ok):.2f} | "
              f"{max(r['rss_mb'] for r in ok):.0f} | {counts} |")
    # Malformed inputs: a component line with a non-number location (line
    # 1496 of the DEF), and a LEF macro SIZE with a word for a number.
    with open(def_path) as f:
        lines = f.read().split("\n")
    lines[1495] = lines[1495].replace("( 218081 46040 )", "( 218081 oops )")
    bad_def = os.path.join(tmp, "bad.def")
    with open(bad_def, "w") as f:
        f.write("\n".join(lines))
    with open(lef_path) as f:
        lef_lines = f.read().split("\n")
    k = next(i for i, s in enumerate(lef_lines) if s.strip().startswith("SIZE")
             and i > 100)
    lef_lines[k] = "  SIZE 0.171 BY oops ;"
    bad_lef = os.path.join(tmp, "bad.lef")
    with open(bad_lef, "w") as f:
        f.write("\n".join(lef_lines))
    print(f"\nmalformed: DEF line 1496 location '( 218081 oops )'; LEF line {k + 1} "
          "'SIZE 0.171 BY oops'")
    print("| reader | bad DEF | bad LEF |\n|---|---|---|")
    for name in ("placer (DEF+LEF -> Netlist)", "lefdef 0.6.0 (Si2 parser) DEF"):
        r1 = run(SNIPPETS[name], bad_def, lef_path, env)
        body_lef = SNIPPETS["placer LEF only" if name.startswith("placer")
                            else "lefdef 0.6.0 (Si2 parser) LEF"]
        r2 = run(body_lef, def_path, bad_lef, env)
        show = [r.get("error") or ("read without error: " + json.dumps(
            {k: v for k, v in r.items() if k not in ("seconds", "rss_mb")}))
            for r in (r1, r2)]
        print(f"| {name} | {show[0]} | {show[1]} |")
    r = run(SNIPPETS["sc-leflib 0.5.2 (Si2 LEF parser) LEF"], def_path, bad_lef, env)
    print(f"| sc-leflib | - | {r.get('error') or r} |")
    print(f"load average after: {os.getloadavg()}")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
