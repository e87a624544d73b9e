"""The emulator's TLS helpers: a throwaway certificate that httpx trusts through its CA file."""

from __future__ import annotations

import ssl
import sys
from pathlib import Path

import httpx
import pytest

from fibo_prompts.emulator import EmulatorConfig
from fibo_prompts.emulator.tls import throwaway_tls
from fibo_prompts.errors import DependencyMissingError
from tests.conftest import StartEmulator


def test_a_throwaway_certificate_serves_https_that_its_ca_verifies(
    tmp_path: Path, start_emulator: StartEmulator
) -> None:
    context, ca = throwaway_tls(tmp_path)
    assert ca == tmp_path / "emulator-ca.pem"
    emu = start_emulator(EmulatorConfig(), tls=context)
    assert emu.url.startswith("https://127.0.0.1:")
    trusted = ssl.create_default_context(cafile=str(ca))
    assert httpx.get(f"{emu.url}/_emulator/stats", verify=trusted).status_code == 200
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{emu.url}/_emulator/stats")


def test_without_trustme_the_error_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "trustme", None)
    with pytest.raises(DependencyMissingError) as caught:
        throwaway_tls(tmp_path)
    assert str(caught.value) == (
        "a throwaway TLS certificate for the emulator: trustme is not installed; "
        "install it with pip install trustme"
    )
    assert list(tmp_path.iterdir()) == []
