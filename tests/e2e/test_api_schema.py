"""schemathesis against the OpenAPI document on a live server: no 5xx, every response as documented."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clientfolio.services import customers, documents, tokens

from .liveserver import live_server

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
          "response_headers_conformance")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])  # the schema is the same on PostgreSQL; the matrix covers both
def test_schemathesis_finds_no_server_error_and_no_undocumented_response(staffed, tmp_path):
    v = staffed
    code = customers.add_customer(vault=v, actor="admin", name="赵六", kind="person", tier="key",
                                  identifiers={"resident_id": "11010519491231002X"}).code
    documents.add_document(vault=v, actor="admin", customer_code=code, content=[b"a contract text"],
                           original_name="c.txt", category="contract")
    documents.add_document(vault=v, actor="admin", customer_code=code, content=[b"ID card text"],
                           original_name="id.txt", category="id_document")
    token = tokens.create_token(vault=v, actor="admin", name="schemathesis").token
    st = Path(sys.executable).parent / "schemathesis"
    assert st.exists() or shutil.which("schemathesis")
    with live_server(v) as base:
        run = subprocess.run(
            [str(st), "run", f"{base}/api/v1/openapi.json", "--checks", CHECKS, "-n", "20", "--seed", "7",
             "--phases", "examples,coverage,fuzzing", "--request-timeout", "30", "--no-color",
             "-H", f"Authorization: Bearer {token}"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": ""})
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert " passed" in run.stdout and "Tested:" in run.stdout, report
