import pandas as pd
import streamlit as st

from dashboard import client, paging, show
from dashboard.queries import PARTNER, PARTNERS, SENT_SHOWN

STATUSES = ["PENDING_REVIEW", "APPROVED", "REJECTED"]


def back_to_list() -> None:
    st.session_state.pop("partner_id", None)
    st.session_state["partners-round"] = st.session_state.get("partners-round", 0) + 1


def open_contract(contract_id: str) -> None:
    st.session_state["contract_id"] = contract_id
    st.session_state["partner-contracts-round"] = st.session_state.get("partner-contracts-round", 0) + 1
    st.switch_page("views/contracts.py")


def partner_page(partner_id: str) -> None:
    st.button("← All partners", key="partners-back", on_click=back_to_list)
    after = paging.pager_cursor(f"partner-events-{partner_id}", ())
    data = client.call(PARTNER, {"id": partner_id, "after": after})
    partner = data["partner"]
    if partner["__typename"] == "OperationError":
        st.error(partner["message"])
        return
    info = partner["info"]
    st.title(info["legalName"])
    status, console, manager = st.columns(3)
    status.metric("Registration", show.words(partner["registrationStatus"]))
    console.metric("Partner console", "Open" if partner["consoleAccess"] else "Closed",
                   help="Open while a contract is in force (S-4).")
    manager.metric("Channel manager", (partner["manager"] or {}).get("name", "—"))

    st.subheader("Profile")
    st.table({
        "": ["Legal name", "Registration no.", "Address", "Contact", "Email", "Phone", "Registered",
             "Review comment"],
        "Value": [info["legalName"], info["registrationNumber"], info["address"], info["contactName"],
                  info["email"], info["phone"], show.when(partner["registeredAt"]),
                  partner["reviewComment"] or "—"],
    })

    st.subheader("Contracts")
    contracts = data["contracts"]["nodes"]
    if contracts:
        picked = st.dataframe(show.contracts(contracts), hide_index=True, on_select="rerun",
                              selection_mode="single-row", key=f"partner-contracts-{st.session_state.get('partner-contracts-round', 0)}")
        if picked.selection.rows:
            open_contract(contracts[picked.selection.rows[0]]["id"])
        st.caption("Select a contract to open it.")
    else:
        st.caption("No contracts yet.")

    st.subheader("What we sent")
    notices = data["partnerNotifications"]
    if notices["nodes"]:
        st.dataframe(show.sent(notices["nodes"]), hide_index=True, width="stretch", key="partner-sent")
        if notices["pageInfo"]["hasNextPage"]:
            st.caption(f"The newest {SENT_SHOWN} notices.")
    else:
        st.caption("Nothing sent yet.")

    st.subheader("Audit timeline")
    events = data["auditEvents"]
    st.dataframe(show.timeline(events["nodes"]), hide_index=True, width="stretch")
    if events["pageInfo"]["hasNextPage"] or after:
        paging.pager(f"partner-events-{partner_id}", events["pageInfo"], len(events["nodes"]))


def partner_list() -> None:
    st.title("Partners")
    search_box, status_box = st.columns([3, 1])
    search = search_box.text_input("Search", key="partners-search",
                                   placeholder="Legal name, registration number or email").strip()
    status = status_box.selectbox("Registration", STATUSES, index=None, format_func=show.words,
                                  key="partners-status", placeholder="Any")
    after = paging.pager_cursor("partners", (search, status))
    page = client.call(PARTNERS, {"after": after, "search": search or None, "status": status})["partners"]
    nodes = page["nodes"]
    if not nodes:
        st.info("No partner matches." if search or status else "No partners yet.")
        return
    table = pd.DataFrame([
        {
            "Legal name": p["info"]["legalName"],
            "Registration no.": p["info"]["registrationNumber"],
            "Email": p["info"]["email"],
            "Registration": show.words(p["registrationStatus"]),
            "Console": "Open" if p["consoleAccess"] else "Closed",
            "Manager": (p["manager"] or {}).get("name", "—"),
            "Registered": show.when(p["registeredAt"]),
        }
        for p in nodes
    ])
    paging.pick_row("partners", "partner", table, nodes, page["pageInfo"])


if partner_id := st.session_state.get("partner_id"):
    partner_page(partner_id)
else:
    partner_list()
