"""The engine core stays free of Airflow and requests, so it loads fast anywhere."""

import subprocess
import sys


def test_the_engine_core_imports_neither_airflow_nor_requests() -> None:
    code = (
        "import sys\n"
        "import jirasync.engine.definitions, jirasync.engine.frames, jirasync.engine.plan\n"
        "import jirasync.engine.render, jirasync.engine.checks, jirasync.engine.staging\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'airflow', 'requests'}))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
