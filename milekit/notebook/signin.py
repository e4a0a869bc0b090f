"""Sign in: a form in notebooks, a hidden prompt in terminals, ``whoami`` and ``logout``.

>>> import milekit
>>> with milekit.Sandbox(tasks=5) as sb:
...     me = milekit.login(token=sb.token, base_url=sb.url)      # verified with GET /user
...     df = milekit.tasks_frame(progress=False)                  # ...and used from now on
...     _ = milekit.use(None)
>>> me.name, me.email, len(df)
('Sandbox Admin', 'admin@demo.mile.app', 5)

``milekit.login()`` with no token shows a form in a notebook (token field, base URL under
"Advanced", "remember on this machine", a Sign-in button) and asks with ``getpass`` in a
terminal (the form comes with ``milekit[notebook]``: in a notebook without ipywidgets,
``login()`` with no token is a :class:`~milekit.errors.MissingExtraError` naming the
``pip install``; ``login(token=...)`` works everywhere). Signing in checks the token with
one ``GET /user``, says who it belongs to or why it failed, and makes the client the
default (:func:`milekit.use`). The form clears its token field the moment it reads it, so
the token is in no widget state and no saved notebook; with "remember" it goes to the OS
keyring or a 0600 file (:mod:`milekit.wire.credentials`).
"""

from __future__ import annotations

import getpass
import html
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from milekit import errors
from milekit.notebook.progress import in_kernel, in_notebook
from milekit.types.registry import PAGE_ROWS
from milekit.wire import credentials
from milekit.wire.auth import Secret, redact
from milekit.wire.client import DEFAULT_BASE_URL, Client
from milekit.wire.context import current_client, get_client, use
from milekit.wire.retry import NO_RETRY

WHERE_TOKEN = "In MileApp, open Profile -> Access Token to create or copy your personal token."
PROMPT = "MileApp personal access token (Profile -> Access Token; input hidden): "


@dataclass(frozen=True)
class Identity:
    """Who a token belongs to: the answer of ``GET /user``.

    >>> me = Identity("Ann", "ann@x.id", "u1", "o1", "PT Ann", "https://h/api/v3", None)
    >>> print(me)
    Ann <ann@x.id>, organisation PT Ann (o1) (https://h/api/v3)
    """

    name: str | None
    email: str | None
    user_id: str | None
    organization_id: str | None
    organization_name: str | None
    base_url: str
    profile: str | None  #: the remembered profile the token came from, if any

    @property
    def organization(self) -> str:
        """The organisation as shown: its name (and id) when known, else its id."""
        if self.organization_name and self.organization_id:
            return f"{self.organization_name} ({self.organization_id})"
        return self.organization_name or self.organization_id or "unknown"

    def __str__(self) -> str:
        who = self.name or "(no name)"
        if self.email:
            who += f" <{self.email}>"
        return f"{who}, organisation {self.organization} ({self.base_url})"


def _identity(body: Any, client: Client) -> Identity:
    me = body.get(PAGE_ROWS, body) if isinstance(body, dict) else body
    if not isinstance(me, dict) or not any(k in me for k in ("email", "_id", "id")):
        raise errors.ResponseError(
            f"GET /user at {client.base_url} did not answer with a MileApp user"
        )

    def text(*keys: str) -> str | None:
        for k in keys:
            v = me.get(k)
            if isinstance(v, str) and v:
                return v
        return None

    org = me.get("organization")
    org_name = org.get("name") if isinstance(org, dict) else None
    org_id = text("organization_id", "organizationId")
    if org_id is None and isinstance(org, dict):
        org_id = org.get("id") or org.get("_id")
    return Identity(
        name=text("name"),
        email=text("email"),
        user_id=text("_id", "id"),
        organization_id=str(org_id) if org_id is not None else None,
        organization_name=org_name if isinstance(org_name, str) else None,
        base_url=client.base_url,
        profile=client.profile,
    )


def whoami(client: Client | None = None, *, profile: str | None = None) -> Identity:
    """The user and organisation of the current credentials (one ``GET /user``).

    ``client`` defaults to the one in use (:func:`milekit.get_client`); ``profile``
    reads that remembered profile instead.

    >>> import milekit
    >>> with milekit.Sandbox(tasks=1) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     print(milekit.whoami(c).name)
    Sandbox Admin
    """
    if client is None and profile is not None:
        with Client(profile=profile) as own:
            return _identity(own.request("GET", "/user").body, own)
    client = client or get_client()
    return _identity(client.request("GET", "/user").body, client)


def explain(exc: BaseException, base_url: str) -> str:
    """Why a sign-in failed, in words a person can act on (never holding the token).

    >>> print(explain(errors.NotFoundError(404, "Not found"), "https://h/v3"))
    There is no MileApp API at https://h/v3 (GET /user answered 404). Check the base URL: ...
    """
    host = urlsplit(base_url).netloc or base_url
    if isinstance(exc, errors.AuthError):
        return (
            f"MileApp rejected the token ({exc.status} {exc.api_message or 'Unauthenticated'}). "
            "Copy it again from Profile -> Access Token; it may have been revoked, "
            f"or belong to another MileApp host than {base_url}."
        )
    if isinstance(exc, errors.ForbiddenError):
        return f"The token was accepted but may not read its own user (403): {exc.message}"
    if isinstance(exc, errors.NotFoundError | errors.MethodNotAllowedError):
        return (
            f"There is no MileApp API at {base_url} (GET /user answered {exc.status}). "
            "Check the base URL: MileApp's is https://apiweb.mile.app/api/v3."
        )
    if isinstance(exc, errors.ResponseError):
        return f"{host} answered, but not as the MileApp API ({exc.message}). Check the base URL."
    if isinstance(exc, errors.RateLimitError):
        return "MileApp is rate limiting this organisation (429); try again in a few seconds."
    if isinstance(exc, errors.ServerError):
        return f"MileApp had a server error ({exc.status}); try again later."
    if isinstance(exc, errors.TransportError):
        return (
            f"Could not reach {host}: {exc.message}. Check the network connection "
            "(and, for a sandbox, that it is running)."
        )
    if isinstance(exc, errors.ApiError):
        return f"Sign-in failed: {exc.message}"
    if isinstance(exc, ValueError):  # Secret(): empty or with white space; UsageError: URL
        return f"Sign-in failed: {redact(str(exc))}"
    return f"Sign-in failed: {type(exc).__name__}"


def _verify(
    token: Secret, base_url: str | None, profile: str | None, limiter: str | None = None
) -> tuple[Client, Identity]:
    url = base_url or _default_url(profile)
    client = Client(token=token, base_url=url, limiter=limiter or "default")
    try:
        body = client.request("GET", "/user", retry=NO_RETRY).body
        me = _identity(body, client)
    except BaseException:
        client.close()
        raise
    client.token_source = "sign-in"
    return client, me


def _default_url(profile: str | None) -> str | None:
    """The base URL a sign-in goes to when none is typed: the profile's remembered one,
    else ``MILEAPP_BASE_URL``, else MileApp's (None lets :class:`Client` decide)."""
    cred = credentials.load(profile)
    return cred.base_url if cred is not None and cred.base_url else None


def _adopt(client: Client) -> None:
    client._owned_by_context = True  # type: ignore[attr-defined]
    use(client)


def login(
    token: str | Secret | None = None,
    *,
    base_url: str | None = None,
    profile: str | None = None,
    remember: bool = False,
    prompt: Callable[[str], str] | None = None,
    limiter: str | None = None,
) -> Identity | None:
    """Sign in and make that client the default; returns who signed in.

    With ``token``: verify it (``GET /user``) and return the :class:`Identity`, or raise
    the typed error (:class:`~milekit.errors.AuthError`, ``TransportError``, ...) with a
    note saying what to do. Without: in a notebook, show the sign-in form and return None
    (the form says who signed in); in a terminal, ask with ``getpass`` (or ``prompt``).
    ``remember=True`` keeps the token and base URL as ``profile`` (default
    ``MILEAPP_PROFILE``, else ``"default"``) for later sessions, with ``limiter``
    (``"process"``, ``"shared"``, a ``redis://`` URL) as the profile's rate-limiter setting
    (checked now: an unreachable Redis fails the sign-in).

    >>> import milekit
    >>> with milekit.Sandbox(tasks=1) as sb:
    ...     milekit.login(token="not-the-token", base_url=sb.url)
    Traceback (most recent call last):
    ...
    milekit.errors.AuthError: 401 Unauthenticated. (GET /api/v3/user)
    MileApp rejected the token (401 Unauthenticated.). Copy it again from Profile -> ...
    """
    name = credentials.profile_name(profile)
    if token is None and prompt is None and in_notebook():
        form = LoginForm(base_url=base_url, profile=name, remember=remember)
        from IPython.display import display

        display(form.widget)  # type: ignore[no-untyped-call]
        return None
    if token is None and prompt is None and in_kernel():  # a notebook without ipywidgets
        errors.need("ipywidgets", "notebook", "milekit.login() in a notebook")
    if token is None:
        if prompt is None:
            if not sys.stdin or not sys.stdin.isatty():
                raise errors.UsageError(
                    "no terminal to ask for the token on: pass token=, set MILEAPP_TOKEN, "
                    "or run `milekit login` in a terminal"
                )
            print(WHERE_TOKEN, file=sys.stderr)
            prompt = getpass.getpass
        token = prompt(PROMPT)
    secret = token if isinstance(token, Secret) else Secret(token)
    url = base_url.strip() if base_url and base_url.strip() else None
    try:
        client, me = _verify(secret, url, name, limiter)
    except errors.MileError as e:
        e.add_note(explain(e, url or _default_url(name) or DEFAULT_BASE_URL))
        raise
    if remember:
        credentials.CredentialStore().save(name, secret, client.base_url, limiter)
        client.profile = name
        me = _identity_with_profile(me, name)
    _adopt(client)
    return me


def _identity_with_profile(me: Identity, profile: str) -> Identity:
    return Identity(
        me.name,
        me.email,
        me.user_id,
        me.organization_id,
        me.organization_name,
        me.base_url,
        profile,
    )


def logout(profile: str | None = None) -> bool:
    """Forget the remembered credential of ``profile``; True if there was one.

    The default client is dropped too when it uses that profile, or a sign-in that was
    not remembered.
    """
    name = credentials.profile_name(profile)
    removed = credentials.CredentialStore().forget(name)
    current = current_client()
    if current is not None and (
        current.profile == name or (current.token_source == "sign-in" and current.profile is None)
    ):
        use(None)  # signed out in this session too
    return removed


class LoginForm:
    """The notebook sign-in form (ipywidgets). ``milekit.login()`` displays one.

    :meth:`sign_in` is what the button does; ``identity`` / ``error`` hold the outcome.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        profile: str | None = None,
        remember: bool = False,
    ) -> None:
        w = errors.need("ipywidgets", "notebook", "the notebook sign-in form")
        self.profile = credentials.profile_name(profile)
        self.identity: Identity | None = None
        self.error: BaseException | None = None
        self.client: Client | None = None
        where = "" if self.profile == credentials.DEFAULT_PROFILE else f" (profile {self.profile})"
        self.header = w.HTML(
            f"<b>Sign in to MileApp{html.escape(where)}</b><br>"
            "<span>Your personal access token is in MileApp under "
            "<b>Profile &rarr; Access Token</b>. It is checked with one request "
            "and never saved in this notebook.</span>"
        )
        self.token = w.Password(
            description="Token",
            placeholder="paste your personal access token",
            continuous_update=False,
            layout=w.Layout(width="32em"),
        )
        self.base_url = w.Text(
            value=base_url or _default_url(self.profile) or "",
            description="Base URL",
            placeholder=DEFAULT_BASE_URL,
            layout=w.Layout(width="32em"),
        )
        self.advanced = w.Accordion(
            children=[
                w.VBox(
                    [
                        self.base_url,
                        w.HTML(
                            "<small>Leave empty for MileApp. For a sandbox, its "
                            "<code>url</code> (http://127.0.0.1:PORT/api/v3).</small>"
                        ),
                    ]
                )
            ],
            titles=("Advanced",),
            selected_index=0 if base_url else None,
        )
        self.remember = w.Checkbox(
            value=remember,
            description="Remember on this machine",
            tooltip="in the OS keyring, else a file only you can read",
            indent=False,
        )
        self.button = w.Button(description="Sign in", button_style="primary", icon="sign-in")
        self.status = w.HTML(value="")
        self.button.on_click(lambda _b: self.sign_in())
        self.widget = w.VBox(
            [self.header, self.token, self.advanced, self.remember, self.button, self.status]
        )

    def widgets(self) -> list[Any]:
        """Every widget in the form, nested ones included (to check their state)."""
        out: list[Any] = []

        def walk(x: Any) -> None:
            out.append(x)
            for child in getattr(x, "children", ()):
                walk(child)

        walk(self.widget)
        return out

    def _show(self, ok: bool, text: str) -> None:
        color = "#1b5e20" if ok else "#b71c1c"
        mark = "&#10004;" if ok else "&#10008;"
        self.status.value = f'<span style="color:{color}">{mark} {text}</span>'

    def sign_in(self) -> Identity | None:
        """Read and clear the token field, verify, remember if asked, use the client."""
        raw = self.token.value
        self.token.value = ""  # out of the widget state before anything else happens
        self.identity, self.error = None, None
        url = self.base_url.value.strip() or None
        if not raw or not raw.strip():
            self._show(False, "Paste your token into the Token field first.")
            return None
        self.button.disabled = True
        self._show(True, "Checking the token...")
        try:
            secret = Secret(raw)
            del raw
            client, me = _verify(secret, url, self.profile)
        except Exception as e:
            self.error = e
            reason = explain(e, url or DEFAULT_BASE_URL)
            self._show(False, html.escape(redact(reason)))
            return None
        finally:
            self.button.disabled = False
        note = ""
        if self.remember.value:
            try:
                where = credentials.CredentialStore().save(self.profile, secret, client.base_url)
                client.profile = self.profile
                me = _identity_with_profile(me, self.profile)
                note = (
                    f"<br>Remembered as profile <b>{html.escape(self.profile)}</b> "
                    f"in {html.escape(where)}."
                )
            except Exception as e:
                note = f"<br>Not remembered: {html.escape(redact(str(e)))}"
        _adopt(client)
        self.client, self.identity = client, me
        who = html.escape(me.name or "(no name)")
        if me.email:
            who += f" &lt;{html.escape(me.email)}&gt;"
        self._show(
            True,
            f"Signed in as <b>{who}</b>, organisation <b>{html.escape(me.organization)}</b> "
            f"at {html.escape(client.base_url)}.{note}",
        )
        return me

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        state = f"signed in as {self.identity.email}" if self.identity else "not signed in"
        return f"<milekit LoginForm profile={self.profile!r}: {state}>"
