"""`openpss device attendance` as a subprocess: run, present, restart with state kept."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path

import httpx

from openpss.protocols.dahua_http.client import DahuaClient
from tests.support import device_cli
from tests.support.ports import free_port

PASSWORD = "Cli12345"


def openpss(*args: str) -> list[str]:
    return [sys.executable, "-m", "openpss.cli", *args]


def device_process(data_dir: Path, port: int, *extra: str) -> AbstractContextManager[str]:
    """The device CLI as a child process, until it answers HTTP."""
    args = ["--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir), *extra]
    return device_cli.process("attendance", args, port, admin_password=None)


def present(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENPSS_DEVICE_ADMIN_PASSWORD": PASSWORD}
    return subprocess.run(
        openpss("device", "attendance", "present", "--device", url, *args),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


async def test_run_present_and_restart_keeps_state(tmp_path: Path) -> None:
    port = free_port()
    with device_process(tmp_path, port, "--admin-password", PASSWORD) as url:
        async with DahuaClient(url, "admin", PASSWORD) as client:
            await client.insert_users([{"UserID": "12", "UserName": "Cli", "Password": "555"}])
            await client.insert_cards([{"UserID": "12", "CardNo": "77001"}])
            serial = (await client.device_info()).serial
        accepted = present(url, "--card", "77001")
        assert accepted.returncode == 0, accepted.stderr
        assert json.loads(accepted.stdout)["rec_no"] == 1
        by_password = present(url, "--user-id", "12", "--password", "555")
        assert by_password.returncode == 0, by_password.stderr
        refused = present(url, "--card", "99999")
        assert refused.returncode == 1
        assert json.loads(refused.stdout)["message"] == "card not registered"
        missing = present(url)
        assert missing.returncode != 0 and "give --card" in missing.stderr
    with device_process(tmp_path, port) as url:  # no --admin-password: the stored one is kept
        async with DahuaClient(url, "admin", PASSWORD) as client:
            assert (await client.device_info()).serial == serial
            assert [u["UserID"] for u in await client.find_users()] == ["12"]
            # The refused card is a record too (Status 0, with its reason), kept over a restart.
            records = (await client.find_records()).records
            assert [(r["Status"], r.get("Reason", ""), r["CardNo"]) for r in records] == [
                ("1", "", "77001"),
                ("1", "", ""),
                ("0", "card not registered", "99999"),
            ]


def test_fingerprint_file_is_presented(tmp_path: Path) -> None:
    port = free_port()
    template = tmp_path / "finger.bin"
    template.write_bytes(bytes(range(200)))
    with device_process(tmp_path / "dev", port, "--admin-password", PASSWORD) as url:
        auth = httpx.DigestAuth("admin", PASSWORD)
        httpx.post(
            f"{url}/cgi-bin/AccessUser.cgi?action=insertMulti",
            auth=auth,
            json={"UserList": [{"UserID": "3", "UserName": "Fp"}]},
        )
        body = {
            "FingerprintList": [
                {
                    "UserID": "3",
                    "FingerprintData": [base64.b64encode(template.read_bytes()).decode()],
                }
            ]
        }
        httpx.post(f"{url}/cgi-bin/AccessFingerprint.cgi?action=insertMulti", auth=auth, json=body)
        result = present(url, "--fingerprint", str(template))
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["user_id"] == 3


def test_new_device_without_password_is_uninitialized(tmp_path: Path) -> None:
    port = free_port()
    with device_process(tmp_path, port) as url:
        response = httpx.get(f"{url}/cgi-bin/magicBox.cgi?action=getSerialNo")
        assert response.status_code == 401 and "not initialized" in response.text
