"""Optional login with Streamlit's built-in OIDC (``st.login``), for a lab with an identity provider.

Off unless ``CELL2NET_LOGIN`` is set: to ``1`` for the single provider in ``.streamlit/secrets.toml``
(``[auth]``), or to a provider's name (``[auth.<name>]``). See README, "Running on a shared server".
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import streamlit as st

ENV = "CELL2NET_LOGIN"


def login_provider(environ: Mapping[str, str]) -> str | None:
    """``None`` when login is off, ``""`` for the default provider, else the provider's name.

    Examples
    --------
    >>> login_provider({}), login_provider({"CELL2NET_LOGIN": "1"}), login_provider({"CELL2NET_LOGIN": "lab"})
    (None, '', 'lab')
    """
    value = environ.get(ENV, "").strip()
    if not value or value.lower() in ("0", "false", "no"):
        return None
    return "" if value.lower() in ("1", "true", "yes") else value


def require_login() -> None:
    """With login on, stop the page for a visitor who is not logged in, showing a login button."""
    provider = login_provider(os.environ)
    if provider is None:
        return
    if not getattr(st.user, "is_logged_in", False):  # absent until [auth] is configured
        st.title("Cell2Net Explorer")
        st.info("This server asks you to log in with your lab's account first.")
        st.button("Log in", on_click=st.login, args=(provider,) if provider else (), icon=":material/login:")
        st.stop()
    st.sidebar.button("Log out", on_click=st.logout, icon=":material/logout:")
