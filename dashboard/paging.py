"""Paged lists: Previous / Next over the API's keyset pages, and a table whose row opens
the item (its id in the URL). Each list keeps its stack of `after` cursors in the Streamlit
session."""

from urllib.parse import urlencode

import streamlit as st

from dashboard import client, links


def pager_cursor(name: str, filters: tuple) -> str | None:
    """The `after` cursor of the page shown in list `name`. Pages are keyset pages from the
    API; a change of filters starts again at the first page."""
    state = st.session_state.setdefault(f"pages:{name}", {"filters": filters, "stack": []})
    if state["filters"] != filters:
        state.update(filters=filters, stack=[])
    return state["stack"][-1] if state["stack"] else None


def item_page(query: str, kind: str, item_id: str) -> dict | None:
    """One contract or partner (`kind`), opened from its list: a button back to the list,
    and the answer to `query` with the page of its events being shown; None once the
    reason it cannot be shown is on the page."""
    st.button(f"← All {kind}s", key=f"{kind}s-back", on_click=links.close_here, args=(kind,))
    after = pager_cursor(f"{kind}-events-{item_id}", ())
    data = client.call(query, {"id": item_id, "after": after})
    if data[kind]["__typename"] == "OperationError":
        st.error(data[kind]["message"])
        return None
    return data


def events_pager(kind: str, item_id: str, events: dict, total: int | None = None) -> None:
    """Previous / Next under the events of the item of item_page, when there is more than a page."""
    name = f"{kind}-events-{item_id}"
    if events["pageInfo"]["hasNextPage"] or pager_cursor(name, ()):
        pager(name, events["pageInfo"], len(events["nodes"]), total)


def pager(name: str, page_info: dict, shown: int, total: int | None = None) -> None:
    """Previous / Next under a list, and where in the list this page is."""
    state = st.session_state[f"pages:{name}"]
    stack: list = state["stack"]
    left, right, note = st.columns([1, 1, 3])
    left.button("Previous", key=f"{name}-previous", disabled=not stack, on_click=stack.pop, width="stretch")
    right.button(
        "Next", key=f"{name}-next", disabled=not page_info["hasNextPage"],
        on_click=stack.append, args=(page_info["endCursor"],), width="stretch",
    )
    of = f" of {total:,}" if total is not None else ""
    note.caption(f"Page {len(stack) + 1} · {shown} shown{of}")


def export_url(name: str, filters: dict) -> str:
    """List `name`'s whole filtered list as CSV (filters as the API names them), streamed by
    the API through the dashboard's own route (dashboard/exports.py), which adds the
    manager's token from the session cookie."""
    query = {k: v for k, v in filters.items() if v is not None}
    return f"/export/{name}.csv" + (f"?{urlencode(query)}" if query else "")


def pick_row(name: str, kind: str, table, nodes: list[dict], page_info: dict, total: int, filters: dict) -> None:
    """A page of list `name` as a table; selecting a row opens that item (?{kind}=id).
    "Download CSV" is the whole list with these filters, not this page."""
    picked = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row",
                          width="stretch", key=f"{name}-table-{st.session_state.get(f'{name}-round', 0)}")
    st.caption(f"Select a {kind} to open its page.")
    st.link_button(f"Download CSV (all {total:,})", export_url(name, filters), icon=":material/download:")
    pager(name, page_info, len(nodes), total)
    if picked.selection.rows:
        st.session_state[f"{name}-round"] = st.session_state.get(f"{name}-round", 0) + 1
        links.open_here(kind, nodes[picked.selection.rows[0]]["id"])
        st.rerun()
