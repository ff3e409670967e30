"""``bedrock-finops run`` on logs in S3 (a moto server over HTTP), driven by a params file only,
as on a real account: the window's date folders are read, the others not even listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bedrock_finops import runner

pytestmark = [pytest.mark.aws, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "tests" / "fixtures" / "logs" / "good"
LAYOUT = "team-a/AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1"


def test_a_run_reads_its_window_from_s3(aws_client, tmp_path: Path):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="acme-bedrock-logs")
    for key, path in (
        (f"{LAYOUT}/2025/06/02/10/part-1.json", GOOD / "part-1.json"),
        (f"{LAYOUT}/2025/06/02/11/part-2.json", GOOD / "part-2.json"),
        (f"{LAYOUT}/2025/06/01/10/part-1.json", GOOD / "part-1.json"),  # the day before
    ):
        s3.put_object(Bucket="acme-bedrock-logs", Key=key, Body=path.read_bytes())
    params = tmp_path / "params.yaml"
    params.write_text(
        "run:\n"
        "  source: s3://acme-bedrock-logs/team-a\n"
        f"  endpoint_url: {s3.meta.endpoint_url}\n"
        "  region: us-east-1\n"
        '  start: "2025-06-02"\n'
        '  end: "2025-06-03"\n'
    )
    code, run_dir = runner.run(params, out_root=tmp_path / "out", html=False, log=lambda *_: None)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert code == 0, {n: r["error"] for n, r in manifest["notebooks"].items() if r["error"]}
    ingest = manifest["ingest"]
    # the same 12 invocations as the local folder gives (test_runner), from the two files
    # of the window; the day before is one date folder, skipped without being listed
    assert (ingest["rows"], ingest["files_read"], ingest["folders_outside_window"]) == (12, 2, 1)
    assert ingest["source"] == "s3://acme-bedrock-logs/team-a"
    assert {n: r["status"] for n, r in manifest["notebooks"].items()} == {
        "00_baseline": "ok",
        "01_model_sizing": "ok",
        "02_batch_inference": "ok",
    }
