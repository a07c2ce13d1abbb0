"""The sandbox's IAM Identity Center answers as AWS does where runbook 06 relies on it.

moto 5.2 serves ``sso-admin`` and ``identitystore`` but differs from AWS in three answers that
decide whether two runs at once leave one of each thing (checked against moto 5.2.6):

- ``CreatePermissionSet`` accepts a name the instance already has (AWS: ``ConflictException``);
- ``CreateGroupMembership`` adds the same user to the same group twice (AWS: ``ConflictException``);
- ``CreateAccountAssignment`` stores the same assignment twice (AWS: one assignment, the request
  succeeds).

Its server also runs each request in a thread of its own, so a check and an add of two requests
can interleave. ``answer_like_aws`` patches the three calls (and ``CreateUser``/``CreateGroup``,
whose own duplicate checks moto has) to check and add under one lock, with AWS's answers. It is
applied once per process, before the sandbox server starts.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.RLock()


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return locked


def answer_like_aws() -> None:
    """Patch moto's Identity Center backends (once per process)."""
    from moto.identitystore import exceptions as ids_errors
    from moto.identitystore.models import IdentityStoreBackend
    from moto.ssoadmin import exceptions as sso_errors
    from moto.ssoadmin.models import SSOAdminBackend

    if getattr(SSOAdminBackend, "_runbook_like_aws", False):
        return

    create_set = SSOAdminBackend.create_permission_set
    create_assignment = SSOAdminBackend.create_account_assignment
    create_membership = IdentityStoreBackend.create_group_membership

    def create_permission_set(
        self: Any, name: str, description: str, instance_arn: str, *args: Any, **kwargs: Any
    ) -> Any:
        if any(p.name == name and p.instance_arn == instance_arn for p in self.permission_sets):
            raise sso_errors.ConflictException(f"Permission set with name {name} already exists")
        return create_set(self, name, description, instance_arn, *args, **kwargs)

    def create_account_assignment(
        self: Any,
        instance_arn: str,
        target_id: str,
        target_type: str,
        permission_set_arn: str,
        principal_type: str,
        principal_id: str,
    ) -> Any:
        key = (
            instance_arn,
            target_id,
            target_type,
            permission_set_arn,
            principal_type,
            principal_id,
        )
        for found in self.account_assignments:
            if (
                found.instance_arn,
                found.target_id,
                found.target_type,
                found.permission_set_arn,
                found.principal_type,
                found.principal_id,
            ) == key:
                return found.to_json(include_creation_date=True, include_request_id=True)
        return create_assignment(self, *key)

    def create_group_membership(
        self: Any, identity_store_id: str, group_id: str, member_id: dict[str, str]
    ) -> Any:
        store = self._IdentityStoreBackend__get_identity_store(identity_store_id)
        for membership in store.group_memberships.values():
            if membership["GroupId"] == group_id and membership["MemberId"] == member_id:
                raise ids_errors.ConflictException(
                    message="Member already exists in group",
                    reason="UNIQUENESS_CONSTRAINT_VIOLATION",
                )
        return create_membership(self, identity_store_id, group_id, member_id)

    SSOAdminBackend.create_permission_set = _serialised(create_permission_set)  # type: ignore[method-assign]
    SSOAdminBackend.create_account_assignment = _serialised(create_account_assignment)  # type: ignore[method-assign]
    IdentityStoreBackend.create_group_membership = _serialised(create_group_membership)  # type: ignore[method-assign]
    IdentityStoreBackend.create_user = _serialised(IdentityStoreBackend.create_user)  # type: ignore[method-assign]
    IdentityStoreBackend.create_group = _serialised(IdentityStoreBackend.create_group)  # type: ignore[method-assign]
    SSOAdminBackend._runbook_like_aws = True  # type: ignore[attr-defined]
