"""The bundled sample data: generated deterministically, and read with the counts the docs promise."""

from __future__ import annotations

from pathlib import Path
import subprocess
import sys

import pytest

from scim_tui.input import InputOptions, UserFileReader

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"


def test_sample_files_match_generator():
    result = subprocess.run(
        [sys.executable, str(SAMPLE_DATA / "generate.py"), "--check"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["users.csv", "users.json"])
def test_sample_file_counts(name):
    reader = UserFileReader(SAMPLE_DATA / name, InputOptions(user_name_must_be_email=True))
    users = list(reader)

    assert reader.rows_read == 2100
    assert len(users) == 2080
    assert reader.valid == 2080
    assert reader.invalid == 12
    assert reader.duplicates == 8
