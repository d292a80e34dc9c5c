"""What the URL says: the page (its path), the partner or contract open (?partner=…,
?contract=…) and a list's filters (?status=…&region=…). A reload, a bookmark or a copied
link opens the same view; the filters are also kept in the session, so that they survive a
visit to another page through the sidebar, whose links carry no query."""

from collections.abc import Callable
from typing import Any

import streamlit as st


def restore_filters(name: str, fields: dict[str, tuple[str, Callable[[str], Any]]]) -> None:
    """Before list `name` draws its filter widgets: give each widget (key -> (query
    parameter, parse)) its value from the URL, or else from the last visit, unless the
    widget already has one (it was on the page in the previous run)."""
    saved = st.session_state.get(f"filters:{name}", {})
    from_url = any(param in st.query_params for param, _ in fields.values())
    # Back from an item: the widgets were not drawn while it was open, and what Streamlit
    # kept of them cannot be trusted (at times an empty value), so the URL decides.
    back = st.session_state.pop("filters:back", False)
    for key, (param, parse) in fields.items():
        if key in st.session_state and not back:
            continue
        raw = st.query_params.get(param) if from_url else saved.get(param)
        if raw is None:
            continue
        try:
            st.session_state[key] = parse(raw)
        except (ValueError, TypeError):
            pass  # a hand-edited URL: that filter is left empty


def keep_filters(name: str, values: dict[str, Any]) -> dict[str, str]:
    """After the filter widgets: put their values (query parameter -> value) in the URL and
    the session. Returns the ones set."""
    kept = {param: str(value) for param, value in values.items() if value not in (None, "")}
    st.session_state[f"filters:{name}"] = kept
    for param in values:
        if param in kept:
            if st.query_params.get(param) != kept[param]:
                st.query_params[param] = kept[param]
        else:
            st.query_params.pop(param, None)
    return kept


def opened(param: str) -> str | None:
    """The id of the item this URL opens, e.g. ?contract=…"""
    return st.query_params.get(param) or None


def open_here(param: str, item_id: str) -> None:
    """Open an item of this page; the list's filters stay in the URL for the way back."""
    st.query_params[param] = item_id


def close_here(param: str) -> None:
    st.query_params.pop(param, None)
    st.session_state["filters:back"] = True


def open_page(page: str, param: str, item_id: str) -> None:
    """Open an item on another page (stops this run)."""
    st.switch_page(page, query_params={param: item_id})
