"""How long `import placer` takes beyond `import jax` (issue: <= 0.3 s).

Each measurement is a fresh interpreter: `import jax` alone, then `import jax;
import placer`, and `import jax; import placer; placer.load_netlist` (the
first public name used). Prints medians of --repeat runs.

    python experiments/bench_import.py --repeat 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

CASES = {
    "import jax": "import jax",
    "import jax, placer": "import jax; import placer",
    "+ placer.load_netlist": "import jax; import placer; placer.load_netlist",
    "+ placer.proxy_cost": "import jax; import placer; placer.proxy_cost",
}


def timed(code: str) -> float:
    prog = ("import time; t = time.perf_counter(); " + code +
            "; print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", prog], check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    load = os.getloadavg()[0]
    res = {name: statistics.median(timed(code) for _ in range(args.repeat))
           for name, code in CASES.items()}
    base = res["import jax"]
    print(f"load average {load:.1f}; medians of {args.repeat} fresh interpreters")
    print("| import | seconds | beyond import jax |")
    print("|---|---|---|")
    for name, t in res.items():
        print(f"| {name} | {t:.3f} | {t - base:+.3f} |")


if __name__ == "__main__":
    main()
