"""Admins: the channel managers — their workload, inviting one, deactivating one (moving its
partners in the same step), and moving partners from one manager to another."""

import pandas as pd
import streamlit as st

from dashboard import client, session, show
from dashboard.queries import (
    DEACTIVATE_MANAGER,
    INVITE_MANAGER,
    PARTNERS_TO_MOVE,
    REASSIGN_PARTNERS,
    WORKLOAD,
)

st.title("Managers")
if (session.viewer() or {}).get("role") != "ADMIN":
    st.error("Only admins manage the channel managers.")
    st.stop()


def wait(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    days, rest = divmod(seconds, 86400)
    return f"{days} d {rest // 3600} h" if days else f"{rest // 3600} h {rest % 3600 // 60} min"


rows = client.call(WORKLOAD, {"all": True})["workload"]
accounts = [r["manager"] for r in rows if r["manager"]]
active = {m["id"]: m for m in accounts if m["status"] != "DEACTIVATED"}

st.subheader("Workload")
st.caption(f"{show.total(len(accounts), 'manager')} · open reviews are registrations, information changes "
           "and non-renewals waiting for a decision")
st.dataframe(pd.DataFrame([
    {
        "Manager": r["manager"]["name"] if r["manager"] else "(no manager)",
        "Email": r["manager"]["email"] if r["manager"] else "",
        "Account": show.words(r["manager"]["status"]) if r["manager"] else "",
        "Partners": r["partners"],
        "Open reviews": r["openReviews"],
        "Oldest wait": wait(r["oldestWaitSeconds"]),
    }
    for r in rows
]), hide_index=True, width="stretch", key="workload-table")


def label(manager_id: str | None) -> str:
    m = active.get(manager_id or "")
    return f"{m['name']} <{m['email']}>" if m else "—"


st.subheader("Invite a channel manager")
with st.form("invite", clear_on_submit=True):
    name_box, email_box = st.columns(2)
    name = name_box.text_input("Name", key="invite-name")
    email = email_box.text_input("Email", key="invite-email")
    invited = st.form_submit_button("Invite", type="primary", key="invite-submit")
if invited:
    result = client.result_of(INVITE_MANAGER, {"email": email.strip(), "name": name.strip()}, "inviteManager")
    if result["__typename"] == "InviteManagerSuccess":
        st.session_state["invited"] = (result["manager"]["name"], result["setPasswordLink"], result["linkExpiresAt"])
        st.rerun()
    st.error(result["message"])
if invited_now := st.session_state.get("invited"):
    who, link, until = invited_now
    st.success(f"Invited {show.md(who)}. Until emails go out, pass this one-time link on yourself; "
               f"it works until {show.when(until)}:")
    st.code(link, language=None)

st.subheader("Move partners to another manager")
search = st.text_input("Find partners", key="move-search", placeholder="Legal name, registration number or email")
found = client.call(PARTNERS_TO_MOVE, {"search": search.strip() or None})["partners"]["nodes"]
names = {p["id"]: f"{p['info']['legalName']} ({(p['manager'] or {}).get('name', 'no manager')})" for p in found}
chosen = st.multiselect("Partners", list(names), format_func=names.get, key="move-partners",
                        placeholder="Choose one or more")
target = st.selectbox("To", list(active), format_func=label, index=None, key="move-to", placeholder="Choose")
if st.button("Move partners", key="move-submit", disabled=not (target and chosen)):
    result = client.result_of(REASSIGN_PARTNERS, {"ids": chosen, "to": target}, "reassignPartners")
    if result["__typename"] == "ReassignPartnersSuccess":
        st.toast(f"Moved {result['moved']} partners to {show.md(label(target))}.", icon=":material/check_circle:")
    else:
        st.error(result["message"])

st.subheader("Deactivate a manager")
st.caption("They can no longer sign in, and their sessions end. Their partners move to the manager you choose.")
leaving = st.selectbox("Manager", list(active), format_func=label,
                       index=None, key="deactivate-who", placeholder="Choose")
heir = st.selectbox("Their partners go to", [m for m in active if m != leaving], format_func=label, index=None,
                    key="deactivate-heir", placeholder="Nobody (only if they have none)")
if st.button("Deactivate", key="deactivate-submit", disabled=not leaving):
    result = client.result_of(DEACTIVATE_MANAGER, {"id": leaving, "to": heir}, "deactivateManager")
    if result["__typename"] == "DeactivateManagerSuccess":
        st.toast(f"Deactivated {show.md(result['manager']['name'])}; {result['partnersReassigned']} partners moved.",
                 icon=":material/check_circle:")
    else:
        st.error(result["message"])
