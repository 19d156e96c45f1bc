"""The sign-in of a shared session and the role of this browser session (rules: core.access).

Every page runs ``gate()`` before it draws anything; controls that change the workspace ask
``presenter_only(action)`` before they show; job starts ask ``require_job(kind)``, so a click that
reaches the server without its control (a crafted request) is refused all the same.
"""

from __future__ import annotations

import streamlit as st

from core import access
from ui.safe import md

ROLE_KEY = "access_role"


def sharing() -> access.Sharing:
    return access.Sharing.from_env()


def _client() -> tuple[str | None, dict[str, str]]:
    try:
        ip, headers = st.context.ip_address, dict(st.context.headers)
    except Exception:  # no request behind this run: nobody to trust
        return None, {}
    if ip is None:  # Streamlit's word for a loopback peer (uvicorn has already put a local proxy's client here)
        return "127.0.0.1", headers
    return (ip if isinstance(ip, str) else None), headers  # not a string: a test harness, trusted with nothing


def role() -> str | None:
    """"presenter", "viewer", or None (a shared session that has not signed in yet)."""
    if not sharing().shared:
        return access.PRESENTER  # private: only this machine can reach the server
    ip, headers = _client()
    if access.is_local(ip, headers):
        return access.PRESENTER  # the presenter's own browser on the machine needs no code
    return st.session_state.get(ROLE_KEY)


def is_presenter() -> bool:
    return role() == access.PRESENTER


def gate() -> None:
    """Ask a shared session for its access code before anything else is drawn."""
    if role() is not None:
        return
    st.title("Corpus Lab")
    config = sharing()
    if not (config.viewer_code or config.presenter_code):
        st.error("This server is shared without an access code, so it lets nobody in from the network. "
                 "Start it with `make share`, which sets one.")
        st.stop()
    st.caption("This Corpus Lab is shared. Enter the access code you were given.")
    with st.form("access_form", enter_to_submit=True):
        code = st.text_input("Access code", type="password", key="access_code", autocomplete="off")
        submitted = st.form_submit_button("Enter", type="primary")
    if submitted:
        ip, _ = _client()
        client = ip or "unknown"
        wait = access.THROTTLE.delay(client)
        if wait > 0:
            st.error(f"Too many wrong codes from here: try again in {wait:.0f} s.")
        else:
            granted = config.role_for(code or "")
            if granted is None:
                access.THROTTLE.failed(client)
                st.error("That code is not right.")
            else:
                access.THROTTLE.succeeded(client)
                st.session_state[ROLE_KEY] = granted
                st.session_state.pop("access_code", None)
                st.rerun()
    st.stop()


def presenter_only(action: str) -> bool:
    """True when this session may do ``action``; else a caption saying who can, and False."""
    if access.can(role(), action):
        return True
    st.caption(f"Viewing a shared session: only the presenter can {access.ACTIONS[action]}.")
    return False


def confirmed_delete(confirm: str, button: str, *, key: str, confirm_key: str) -> bool:
    """A box to tick, then a button: True once both were used (and the server-side check passed). The
    tick is cleared, so the next item starts unticked; the caller deletes, forgets and reruns."""
    sure = st.checkbox(confirm, key=confirm_key)
    if st.button(button, disabled=not sure, key=key):
        require("delete")
        st.session_state.pop(confirm_key, None)
        return True
    return False


def require(action: str) -> None:
    """Stop the run with the reason when this session may not do ``action`` (the server-side check)."""
    try:
        access.require(role(), action)
    except access.Forbidden as exc:
        refuse(exc)


def refuse(exc: access.Forbidden) -> None:
    st.error(md(exc), icon=":material/lock:")
    st.stop()


def require_job(kind: str) -> None:
    """Stop the run with the reason when this session may not start a job of ``kind``."""
    try:
        access.require_job(role(), kind)
    except access.Forbidden as exc:
        refuse(exc)


def badge() -> None:
    """The sidebar line that says which role this session has (only when the server is shared)."""
    if not sharing().shared:
        return
    if is_presenter():
        st.caption(":material/co_present: Presenter · shared on the network")
    else:
        st.caption(":material/visibility: Viewer · you can look, query and generate; the presenter changes the workspace")
