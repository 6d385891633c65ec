"""Run every benchmark (``benchmarks/bench_*.py``), or those named on the command line.

Each benchmark module has a ``main()`` that prints its figures and the target
they are held to. Benchmarks are not tests: they measure, on this machine,
what a test must never assert with a clock.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import benchmarks


def _benchmark_names() -> list[str]:
    return sorted(
        info.name for info in pkgutil.iter_modules(benchmarks.__path__) if info.name.startswith("bench_")
    )


def main(argv: list[str]) -> int:
    names = argv or _benchmark_names()
    unknown = sorted(set(names) - set(_benchmark_names()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(_benchmark_names())}")
        return 2
    for name in names:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"benchmarks.{name}").main()
        print(f"== {name} done in {time.perf_counter() - started:.1f} s\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
