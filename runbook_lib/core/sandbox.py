"""The embedded AWS sandbox: a real moto server on 127.0.0.1.

One ``Sandbox`` serves the kernel, papermill, nbval, JupyterLab and the tests alike: they all
reach it through the environment lines from ``Sandbox.environ()``, set before a kernel starts.
"""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
import string
import urllib.request
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

from runbook_lib.core import environ, reset, sandbox_org, sandbox_sso

if TYPE_CHECKING:
    import boto3

#: the account ID moto answers with
SANDBOX_ACCOUNT_ID = "123456789012"
SANDBOX_REGION = "us-east-1"
#: fake credentials: moto accepts any, AWS accepts none of these
SANDBOX_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
#: the variable that tells the library (in any process) where the running sandbox is
SANDBOX_URL_VAR = environ.SANDBOX_URL
DEFAULT_SEED = 42
#: the role Organizations creates in every member account it makes
MEMBER_ROLE = "OrganizationAccountAccessRole"
#: where a sandbox answers with its instance ID (made at its start, kept for its whole life)
INSTANCE_PATH = "/runbook-sandbox/instance"

#: variables that could point a process at a real account; removed wherever a sandbox is used
REAL_CREDENTIAL_VARS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
)


def strip_real_credentials(env: MutableMapping[str, str]) -> None:
    """Remove every variable that could reach a real AWS account from ``env`` (in place)."""
    for name in REAL_CREDENTIAL_VARS:
        env.pop(name, None)


def sandbox_environ(url: str) -> dict[str, str]:
    """The environment lines that point boto3, the aws CLI and a kernel at a sandbox ``url``."""
    return {
        SANDBOX_URL_VAR: url,
        "AWS_ENDPOINT_URL": url,
        "AWS_DEFAULT_REGION": SANDBOX_REGION,
        # no config or credentials file of the user's may leak into a sandbox process
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        **SANDBOX_CREDENTIALS,
    }


def apply_sandbox_environ(url: str, env: MutableMapping[str, str] | None = None) -> None:
    """Strip real credentials from ``env`` (default ``os.environ``) and point it at ``url``."""
    target = os.environ if env is None else env
    strip_real_credentials(target)
    target.pop(environ.SANDBOX_ACCOUNT, None)  # a member's credentials were just removed
    target.update(sandbox_environ(url))


def member_environ(account_id: str, credentials: Mapping[str, str]) -> dict[str, str]:
    """Environment lines that make a sandbox kernel act in member ``account_id``.

    Args:
        account_id: the member account (12 digits).
        credentials: the sandbox's own ``AssumeRole`` answer for it (``AccessKeyId``,
            ``SecretAccessKey``, ``SessionToken``); moto maps the key to the member.
    """
    return {
        environ.SANDBOX_ACCOUNT: account_id,
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def _session_credentials() -> dict[str, str]:
    """The sandbox credentials of this process: a member's (``member_environ``, set by the
    runner on a kernel whose real credentials it removed) or the fixed fake ones."""
    env = os.environ
    if env.get(environ.SANDBOX_ACCOUNT) and env.get(SANDBOX_URL_VAR):
        return {
            "aws_access_key_id": env.get("AWS_ACCESS_KEY_ID", ""),
            "aws_secret_access_key": env.get("AWS_SECRET_ACCESS_KEY", ""),
            "aws_session_token": env.get("AWS_SESSION_TOKEN", ""),
        }
    return {
        "aws_access_key_id": SANDBOX_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": SANDBOX_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def sandbox_session(region: str = SANDBOX_REGION) -> boto3.Session:
    """A boto3 session with the sandbox's credentials that reads no AWS profile.

    ``AWS_PROFILE`` may name a real (or a missing) profile in the user's shell: neither has any
    business in a sandbox session. A kernel the fan-out runner points at a member account
    (``RUNBOOK_SANDBOX_ACCOUNT``) uses that member's ``AssumeRole`` credentials.
    """
    from runbook_lib.core.boto import new_session

    return new_session(region_name=region, read_profile=False, **_session_credentials())


def _request_ids_off_the_seed() -> None:
    """Draw moto's response request IDs from a generator of their own, not the seeded one.

    moto draws a 52-character request ID for every response from the same seeded generator
    that makes user IDs, access keys and MFA seeds, so one read more or less before a
    ``CreateAccessKey`` (a probe, a retry, another client) changed that key and every later ID:
    outputs made on one machine did not repeat on another. With request IDs drawn elsewhere, the
    seeded IDs depend only on what was created, in which order. Request IDs stay random (AWS's
    are); nothing compares them.
    """
    import moto.core.responses as responses

    name = "gen_amzn_requestid_long"  # imported by name into moto's responses module
    if getattr(getattr(responses, name), "_off_the_seed", False):
        return
    draw = random.Random()  # noqa: S311 - request IDs are not secrets
    alphabet = string.ascii_uppercase + string.digits

    def request_id(headerdict: dict[str, Any] | None = None) -> str:
        req_id = "".join(draw.choices(alphabet, k=52))
        if headerdict is not None:
            headerdict["x-amzn-requestid"] = req_id
        return req_id

    request_id._off_the_seed = True  # type: ignore[attr-defined]
    setattr(responses, name, request_id)  # noqa: B010 - moto does not re-export the name


def _answer_instance(app: Callable[..., Iterable[bytes]], instance: str) -> Any:
    """``app`` (moto's WSGI application) that also answers ``GET INSTANCE_PATH`` with
    ``{"instance": ID}``; every other request goes to moto."""
    body = json.dumps({"instance": instance}).encode()

    def answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == INSTANCE_PATH:
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            start_response("200 OK", headers)
            return [body]
        return app(environ, start_response)

    return answer


def sandbox_instance(url: str) -> str:
    """The instance ID of the sandbox at ``url``; ``""`` when it has none (not a runbook
    sandbox: a moto or LocalStack of the user's) or does not answer.

    Two runs in the same account ID (moto always answers 123456789012) audit the same account
    only when this ID is the same: every ``Sandbox`` makes a new one when it starts.
    """
    if not url:
        return ""
    where = url.rstrip("/") + INSTANCE_PATH
    try:
        with urllib.request.urlopen(where, timeout=5) as resp:  # noqa: S310 - a sandbox URL
            answer = json.loads(resp.read())
    except (OSError, ValueError):
        return ""
    return str(answer.get("instance", "")) if isinstance(answer, dict) else ""


def _post(url: str) -> bytes:
    """POST to the sandbox (a reset rebuilds every account it has seen: give it time)."""
    req = urllib.request.Request(url, method="POST", data=b"")  # noqa: S310 - loopback only
    with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310
        body: bytes = resp.read()
        return body


@dataclass
class Sandbox:
    """A moto server on 127.0.0.1 with AWS managed policies loaded, seeded and resettable.

    Use ``Sandbox.start()``, then ``url``; ``reset()`` empties it; ``stop()`` ends it. With
    ``member_accounts`` N the management account (``SANDBOX_ACCOUNT_ID``) also owns an
    Organization of N member accounts (``accounts``), each with ``MEMBER_ROLE``.
    """

    seed: int = DEFAULT_SEED
    port: int = 0
    member_accounts: int = 0
    #: the member account IDs, in creation order (the same for the same seed and N)
    accounts: list[str] = field(default_factory=list)
    _server: Any = field(default=None, repr=False)
    url: str = ""
    #: this server's ID for its whole life (``sandbox_instance``), recorded in every run.json
    #: so that ``--compare`` refuses two runs of different sandboxes
    instance: str = ""
    #: serve from a child process (``SandboxChild``) instead of a thread of this one: a
    #: fan-out's runner then keeps its own core for the kernels' clients, moto gets another
    child: bool = False

    def start(self) -> Sandbox:
        """Start the server on a free loopback port, load managed policies and seed it.

        Returns:
            ``self``, running.
        """
        if self.child:
            self._server = SandboxChild(self.seed, self.member_accounts)
            self.url, self.instance, self.accounts = self._server.start()
            return self
        # read by moto when it builds the IAM backend: AdministratorAccess must exist
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        sandbox_org.parse_managed_policies_once()
        sandbox_org.list_moto_modules_once()
        sandbox_sso.answer_like_aws()  # runbook 06: duplicates refused as AWS does
        from moto.server import ThreadedMotoServer

        _request_ids_off_the_seed()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.instance = "sbx-" + secrets.token_hex(6)  # not a secret: it names the server
        # the werkzeug server serves ``.app``; nothing knows its URL yet, so no request is missed
        wsgi = self._server._server  # moto keeps its werkzeug server private
        wsgi.app = _answer_instance(wsgi.app, self.instance)
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        # moto's backends are per process: a second sandbox in this process (refresh's Korean
        # pass, a test) would otherwise start with the first one's users, keys and devices
        _post(f"{self.url}/moto-api/reset")
        self._seed_and_warm_up()
        return self

    def _seed_and_warm_up(self) -> None:
        """Seed, then build moto's IAM backend (≈1 s: it loads every managed policy).

        The build is not in the background: it draws from moto's seeded generator (an ID per
        managed policy), and so does every response (its request ID). A background build raced
        the caller's first request, and IDs, keys and MFA seeds then differed from run to run.
        """
        self.reseed()
        sandbox_session().client("iam", endpoint_url=self.url).list_account_aliases()
        self.accounts = []
        if self.member_accounts:  # no call otherwise: later seeded IDs stay as they were
            self.ensure_members(self.member_accounts)

    def ensure_members(self, count: int) -> list[str]:
        """The Organization's member accounts, ``count`` made if it has no Organization yet."""
        org = sandbox_session().client("organizations", endpoint_url=self.url)
        self.accounts = sandbox_org.ensure_members(org, count)
        return self.accounts

    def reseed(self) -> None:
        """Make generated IDs, keys and MFA seeds repeat from here on."""
        _post(f"{self.url}/moto-api/seed?a={self.seed}")

    def reset(self) -> None:
        """Delete everything in the sandbox and seed it again."""
        _post(f"{self.url}/moto-api/reset")
        self._seed_and_warm_up()

    def environ(self) -> dict[str, str]:
        """Environment lines that point a shell, JupyterLab or a kernel at this sandbox."""
        return sandbox_environ(self.url)

    def stop(self) -> None:
        """Stop the server."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Sandbox:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


#: what a sandbox child runs: start a ``Sandbox``, print its URL, serve until stdin closes
_CHILD_CODE = (
    "import sys; sys.path[:1] = [] if sys.path[:1] == [''] else sys.path[:1]; "
    "from runbook_lib.core.sandbox import _serve_child; _serve_child()"
)
#: seconds a sandbox child may take to start (a 1,000-member Organization: ≈ 20 s here)
CHILD_START_TIMEOUT = 600


class SandboxChild:
    """A ``Sandbox`` served by a child process of this one (``Sandbox(child=True)``).

    The child lives exactly as long as its stdin: ``stop()`` closes it, and so does the end of
    this process however it ends (Ctrl-C, ``kill -9``), so a child never outlives its parent.
    It ignores SIGINT: a Ctrl-C in the terminal reaches the whole process group, and a
    fan-out's accounts still running must finish on it.
    """

    def __init__(self, seed: int, member_accounts: int) -> None:
        self.seed, self.member_accounts = seed, member_accounts
        self.proc: Any = None

    def start(self) -> tuple[str, str, list[str]]:
        """Start the child; its URL, instance ID and member accounts.

        Raises:
            RuntimeError: the child did not start (its last line of stderr says why).
        """
        import subprocess
        import sys
        import tempfile

        env = dict(os.environ)
        strip_real_credentials(env)
        options = json.dumps({"seed": self.seed, "member_accounts": self.member_accounts})
        with tempfile.TemporaryFile() as errors:
            self.proc = subprocess.Popen(  # noqa: S603 - this interpreter, fixed code
                [sys.executable, "-c", _CHILD_CODE, options],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=env,
            )
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait(CHILD_START_TIMEOUT)
                errors.seek(0)
                said = errors.read().decode("utf-8", "replace").strip().splitlines()
                raise RuntimeError(f"the sandbox did not start: {(said or [''])[-1]}")
        answer = json.loads(line)
        return str(answer["url"]), str(answer["instance"]), list(answer["accounts"])

    def stop(self) -> None:
        """End the child (closing its stdin) and wait for it."""
        if self.proc is None:
            return
        import subprocess

        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def _serve_child() -> None:
    """The sandbox child's body: start, print ``{"url", "instance", "accounts"}``, serve until
    stdin closes."""
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    options = json.loads(sys.argv[1])
    box = Sandbox(seed=int(options["seed"]), member_accounts=int(options["member_accounts"]))
    box.start()
    answer = {"url": box.url, "instance": box.instance, "accounts": box.accounts}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    # nobody reads the pipe after that line: anything printed later must not fill it and block
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.stdin.read()  # EOF: the parent stopped the sandbox or ended
    box.stop()


def running_sandbox_url(env: Mapping[str, str] | None = None) -> str:
    """The URL of the sandbox this process was pointed at, or ``""``."""
    return (os.environ if env is None else env).get(SANDBOX_URL_VAR, "")


_EMBEDDED: Sandbox | None = None


def embedded_sandbox() -> str:
    """Return the URL of a sandbox for this process, starting one inside it if none is running.

    A kernel started by ``runbook run``/``lab``/the tests already has ``RUNBOOK_SANDBOX_URL``; a
    notebook opened anywhere else gets its own sandbox that lives as long as the kernel.
    """
    global _EMBEDDED
    url = running_sandbox_url()
    if url:
        return url
    if _EMBEDDED is None:
        _EMBEDDED = Sandbox().start()
    return _EMBEDDED.url


def _stop_embedded() -> None:
    """A pooled kernel's next run must not see this run's embedded sandbox (its accounts)."""
    global _EMBEDDED
    if _EMBEDDED is not None:
        _EMBEDDED.stop()
        _EMBEDDED = None


reset.on_reset("sandbox.embedded", _stop_embedded)
