"""What a run no longer pays for (issue 24), and that each saving keeps the behaviour it replaced.

- papermill saved the executed notebook before and after every cell: the engine saves it at
  most every ``SAVE_EVERY`` seconds while cells run, and always when they end, a failed cell
  included;
- Python's collector is off while a headless run imports (``core.gcdefer``), and on again once
  the kernel's ``preflight()`` is done;
- jupyter_client's ``wait_for_ready`` waited for 0.2 s of IOPub silence on every run:
  ``ReadyKernelClient`` stops at the idle status of its own ``kernel_info`` request;
- every botocore session read the service models again: sessions share one loader.

One kernel start for the module. Nothing here is timed.
"""

from __future__ import annotations

import asyncio
import gc
import json
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
import papermill.engines
import pytest
from botocore.exceptions import ProfileNotFound
from papermill.exceptions import PapermillExecutionError

from runbook_lib.core import boto, gcdefer
from runbook_lib.run import engine
from runbook_lib.run.kernels import kernel_environ
from runbook_lib.run.ready_client import ReadyKernelClient

CELLS = [
    "import gc\nprint('before', gc.isenabled())",
    "from runbook_lib import preflight\nctx = preflight('t', target='sandbox')",
    "import gc\nprint('after', gc.isenabled())",
    "x = 1",
    "y = 2",
    "print('last', x + y)",
]


def _notebook(folder: Path, cells: list[str], name: str = "costs.ipynb") -> Path:
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    book.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    path = folder / name
    nbformat.write(book, path)
    return path


def _printed(book: Any) -> list[str]:
    return [
        "".join(out.get("text", "")).strip()
        for cell in book["cells"]
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    ]


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Any, Path]:
    """One run of ``CELLS`` with papermill's notebook writes counted."""
    folder = tmp_path_factory.mktemp("costs")
    book = _notebook(folder, CELLS)
    writes: list[str] = []
    real = papermill.engines.write_ipynb
    with pytest.MonkeyPatch.context() as patch:

        def counting(nb: Any, path: str, **kwargs: Any) -> None:
            writes.append(path)
            real(nb, path, **kwargs)

        patch.setattr(papermill.engines, "write_ipynb", counting)
        out = folder / "out.ipynb"
        executed = engine.execute(book, out, env=kernel_environ(record_path=folder / "r.json"))
    return writes, executed, out


def test_the_engine_saves_once_when_the_cells_end_not_around_each_cell(
    counted: tuple[list[str], Any, Path],
) -> None:
    writes, executed, out = counted
    # papermill's own manager: a save at the start and two per cell (13 here)
    assert len(writes) <= 2, writes
    saved = json.loads(out.read_text("utf-8"))
    assert _printed(saved) == _printed(executed) and "last 3" in _printed(saved)


def test_the_kernel_collector_is_off_while_importing_and_on_after_preflight(
    counted: tuple[list[str], Any, Path],
) -> None:
    _, executed, _ = counted
    printed = _printed(executed)
    assert "before False" in printed and "after True" in printed


def test_a_failed_cell_is_still_saved_with_its_error(tmp_path: Path) -> None:
    book = _notebook(tmp_path, ["print('ran')", "raise ValueError('boom')", "print('never')"])
    out = tmp_path / "out.ipynb"

    with pytest.raises(PapermillExecutionError):
        engine.execute(book, out, env=kernel_environ(record_path=tmp_path / "r.json"))

    saved = json.loads(out.read_text("utf-8"))
    assert "ran" in _printed(saved) and "never" not in _printed(saved)
    errors = [
        o for c in saved["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"
    ]
    assert errors and errors[0]["evalue"] == "boom"


# ---- the collector ----------------------------------------------------------------------
def test_resume_turns_on_only_what_defer_turned_off() -> None:
    assert gc.isenabled()
    gcdefer.defer()
    try:
        assert not gc.isenabled()
    finally:
        gcdefer.resume()
    assert gc.isenabled()

    gc.disable()  # a caller's own choice
    try:
        gcdefer.defer()
        gcdefer.resume()
        assert not gc.isenabled()
    finally:
        gc.enable()


# ---- wait_for_ready -----------------------------------------------------------------------
class _Channel:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:
        if not self.messages:
            raise Empty
        return self.messages.pop(0)


def _status(parent: str, state: str) -> dict[str, Any]:
    return {
        "msg_type": "status",
        "parent_header": {"msg_id": parent},
        "content": {"execution_state": state},
    }


def _reply(parent: str) -> dict[str, Any]:
    return {"msg_type": "kernel_info_reply", "parent_header": {"msg_id": parent}, "content": {}}


class _Client(ReadyKernelClient):  # type: ignore[misc]
    """The real waiting logic over scripted channels."""

    def __init__(self, shell: list[dict[str, Any]], iopub: list[dict[str, Any]]) -> None:
        super().__init__()
        self._shell, self._iopub = _Channel(shell), _Channel(iopub)
        self.asked: list[str] = []
        self.handled: list[dict[str, Any]] = []

    @property
    def shell_channel(self) -> Any:
        return self._shell

    @property
    def iopub_channel(self) -> Any:
        return self._iopub

    def kernel_info(self) -> str:
        self.asked.append(f"k{len(self.asked) + 1}")
        return self.asked[-1]

    def _handle_kernel_info_reply(self, msg: dict[str, Any]) -> None:
        self.handled.append(msg)

    async def _async_is_alive(self) -> bool:
        return True


def test_ready_once_iopub_carries_the_requests_idle_status_and_not_before() -> None:
    stale = _status("k0", "idle")  # an older request's: not the sign this one is done
    client = _Client(
        shell=[_reply("old"), _reply("k1")],
        iopub=[stale, _status("k1", "busy"), _status("k1", "idle"), _status("later", "busy")],
    )

    asyncio.run(client.wait_for_ready(timeout=5))

    assert client.asked == ["k1"] and client.handled == [_reply("k1")]
    assert client.iopub_channel.messages == [_status("later", "busy")]  # left for the cells


def test_an_unconnected_iopub_makes_it_ask_again() -> None:
    client = _Client(shell=[_reply("k1"), _reply("k2")], iopub=[])
    client._iopub.messages = []  # k1's status never reaches IOPub

    async def connect_late() -> None:
        client._iopub.messages.extend([_status("k2", "busy"), _status("k2", "idle")])

    real = client._reply_to

    async def reply_to(msg_id: str, within: float) -> Any:
        if msg_id == "k2":
            await connect_late()
        return await real(msg_id, within)

    client._reply_to = reply_to  # type: ignore[method-assign]
    asyncio.run(client.wait_for_ready(timeout=5))

    assert client.asked == ["k1", "k2"] and client.handled == [_reply("k2")]


# ---- shared botocore loader ---------------------------------------------------------------
def test_sessions_share_one_loader_and_keep_their_own_credentials() -> None:
    sessions = [
        boto.new_session(
            aws_access_key_id=f"AKID{i}", aws_secret_access_key="x", read_profile=False
        )
        for i in range(5)
    ]
    loaders = {id(s._session.get_component("data_loader")) for s in sessions}
    assert len(loaders) == 1
    loader = sessions[0]._session.get_component("data_loader")
    assert len(loader.search_paths) == len(set(loader.search_paths))  # boto3's folder once
    keys = [s.get_credentials().access_key for s in sessions]
    assert keys == [f"AKID{i}" for i in range(5)]


def test_a_missing_profile_is_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    with pytest.raises(ProfileNotFound):
        boto.new_session(profile_name="no-such-profile")
