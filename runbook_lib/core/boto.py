"""boto3 sessions that share one botocore data loader per process.

Every new ``botocore`` session builds its own data loader, and a loader reads (and parses) the
service models, the endpoint rule sets and ``endpoints.json`` again on its session's first
client: ≈ 40 ms of CPU per session here. A run makes several sessions (the target's, a proof
client's, a fan-out account's), and a warm kernel makes new ones for every account it serves.

``new_session`` gives each session its own credentials, profile and region as usual, but the
one loader of the process for its ``data_path``: the loader holds only AWS's published model
files (public data, the same for every account and run), never a credential, so sharing it
across runs and accounts leaks nothing (``core.reset`` still drops every session and every
credential between two runs).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3

_LOADERS: dict[str | None, Any] = {}
_LOCK = threading.Lock()


class _Paths(list):  # type: ignore[type-arg]
    """A loader's search paths: each ``boto3.Session`` appends boto3's data folder to its
    loader, once per session; with a shared loader the folder is kept once."""

    def append(self, path: Any) -> None:
        if path not in self:
            super().append(path)


def shared_loader(data_path: str | None) -> Any:
    """The process's botocore data loader for ``data_path`` (``AWS_DATA_PATH``/``data_path``)."""
    with _LOCK:
        loader: Any = _LOADERS.get(data_path)
        if loader is None:
            from botocore.loaders import create_loader

            loader = create_loader(data_path)
            loader._search_paths = _Paths(loader._search_paths)  # noqa: SLF001
            _LOADERS[data_path] = loader
        return loader


def new_session(
    *,
    profile_name: str | None = None,
    region_name: str | None = None,
    aws_access_key_id: str | None = None,
    aws_secret_access_key: str | None = None,
    aws_session_token: str | None = None,
    read_profile: bool = True,
) -> boto3.Session:
    """A ``boto3.Session`` like ``boto3.Session(...)``, on the process's shared data loader.

    Args:
        read_profile: false: the session ignores ``AWS_PROFILE`` (the sandbox's sessions).

    Raises:
        botocore.exceptions.ProfileNotFound: ``profile_name`` (or ``AWS_PROFILE``) names no
            profile, as ``boto3.Session`` would.
    """
    import boto3
    import botocore.session

    session_vars = None if read_profile else {"profile": (None, None, None, None)}
    core = botocore.session.Session(session_vars=session_vars)
    if profile_name:
        core.set_config_variable("profile", profile_name)
    core.register_component("data_loader", shared_loader(core.get_config_variable("data_path")))
    return boto3.Session(
        botocore_session=core,
        region_name=region_name,
        aws_access_key_id=aws_access_key_id,
        aws_secret_access_key=aws_secret_access_key,
        aws_session_token=aws_session_token,
    )
