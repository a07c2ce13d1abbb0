"""The kernel client every run uses: jupyter_client's, without a fixed 0.2 s wait per run.

``KernelClient.wait_for_ready`` (called by nbclient before the first cell) asks for
``kernel_info``, checks that IOPub carries a message, and then reads IOPub until it has been
silent for 0.2 s: 0.2 s of wall time on every run, every account of a fan-out included
(a warm kernel's new client waits for it too). ``ReadyKernelClient`` ends the wait as soon as
IOPub has carried the ``idle`` status of its own ``kernel_info`` request: IOPub is then
connected (a message of this client's request reached it), and every message the request
caused has been read, which is all the 0.2 s of silence was there to make sure of.
"""

from __future__ import annotations

import time
from queue import Empty
from typing import Any

from jupyter_client.asynchronous.client import AsyncKernelClient

#: seconds to wait for the kernel_info reply, and then for its idle status on IOPub, per try
REPLY_WAIT = 1.0
IOPUB_WAIT = 0.2


class ReadyKernelClient(AsyncKernelClient):
    """``AsyncKernelClient`` whose ``wait_for_ready`` stops at its request's idle status."""

    async def _reply_to(self, msg_id: str, within: float) -> dict[str, Any] | None:
        """The shell reply to ``msg_id`` (older replies are skipped), or ``None``."""
        until = time.monotonic() + within
        while (left := until - time.monotonic()) > 0:
            try:
                msg: dict[str, Any] = await self.shell_channel.get_msg(timeout=left)
            except Empty:
                return None
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg
        return None

    async def _idle_after(self, msg_id: str, within: float) -> bool:
        """Whether IOPub carries ``msg_id``'s ``idle`` status (each message read in turn)."""
        while True:
            try:
                msg = await self.iopub_channel.get_msg(timeout=within)
            except Empty:
                return False  # IOPub not connected yet (or silent): ask again
            parent = msg.get("parent_header", {}).get("msg_id")
            state = msg.get("content", {}).get("execution_state")
            if msg.get("msg_type") == "status" and state == "idle" and parent == msg_id:
                return True

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        """Wait until the kernel answers ``kernel_info`` and IOPub carries its idle status.

        Raises:
            RuntimeError: the kernel died, or did not answer within ``timeout`` seconds.
        """
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            msg_id = self.kernel_info()
            reply = await self._reply_to(msg_id, REPLY_WAIT)
            if (
                reply is not None
                and reply.get("msg_type") == "kernel_info_reply"
                and await self._idle_after(msg_id, IOPUB_WAIT)
            ):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    wait_for_ready = _async_wait_for_ready
