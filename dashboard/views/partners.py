import pandas as pd
import streamlit as st

from dashboard import client, links, paging, show
from dashboard.queries import PARTNER, PARTNERS, SENT_SHOWN

STATUSES = ["PENDING_REVIEW", "APPROVED", "REJECTED"]
FILTERS = {  # widget key: (query parameter, parse)
    "partners-search": ("search", str),
    "partners-status": ("registration", lambda v: v if v in STATUSES else None),
}


def partner_page(partner_id: str) -> None:
    data = paging.item_page(PARTNER, "partner", partner_id)
    if data is None:
        return
    partner = data["partner"]
    info = partner["info"]
    st.title(show.md(info["legalName"]))
    status, console, manager = st.columns(3)
    status.metric("Registration", show.words(partner["registrationStatus"]))
    console.metric("Partner console", "Open" if partner["consoleAccess"] else "Closed",
                   help="Open while a contract is in force (S-4).")
    manager.metric("Channel manager", (partner["manager"] or {}).get("name", "—"))  # a value is plain text

    st.subheader("Profile")
    reviewed = ""
    if partner.get("reviewedAt"):
        reviewed = f"{show.words(partner['registrationStatus'])} {show.when(partner['reviewedAt'])}"
        if partner.get("reviewedBy"):
            reviewed += f" by {partner['reviewedBy']['name']}"
    st.dataframe(  # cells are text: nothing the partner typed becomes Markdown
        pd.DataFrame({
            "": ["Legal name", "Registration no.", "Address", "Contact", "Email", "Phone", "Registered",
                 "Decision", "Review comment"],
            "Value": [info["legalName"], info["registrationNumber"], info["address"], info["contactName"],
                      info["email"], info["phone"], show.when(partner["registeredAt"]), reviewed or "—",
                      partner["reviewComment"] or "—"],
        }),
        hide_index=True, width="stretch", key="partner-profile",
    )

    st.subheader("Contracts")
    contracts = data["contracts"]["nodes"]
    if contracts:
        st.caption(show.total(data["contracts"]["totalCount"], "contract"))
        picked = st.dataframe(show.contracts(contracts), hide_index=True, on_select="rerun",
                              selection_mode="single-row", key="partner-contracts")
        if picked.selection.rows:
            links.open_page("views/contracts.py", "contract", contracts[picked.selection.rows[0]]["id"])
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
    st.caption(show.total(events["totalCount"], "event"))
    st.dataframe(show.timeline(events["nodes"]), hide_index=True, width="stretch", key="partner-timeline")
    paging.events_pager("partner", partner_id, events, events["totalCount"])


def partner_list() -> None:
    st.title("Partners")
    links.restore_filters("partners", FILTERS)
    search_box, status_box = st.columns([3, 1])
    search = search_box.text_input("Search", key="partners-search",
                                   placeholder="Legal name, registration number or email").strip()
    status = status_box.selectbox("Registration", STATUSES, index=None, format_func=show.words,
                                  key="partners-status", placeholder="Any")
    links.keep_filters("partners", {"search": search, "registration": status})
    after = paging.pager_cursor("partners", (search, status))
    page = client.call(PARTNERS, {"after": after, "search": search or None, "status": status})["partners"]
    nodes, total = page["nodes"], page["totalCount"]
    if not nodes:
        st.info("No partners match this search." if search or status else "No partners yet.")
        return
    st.caption(show.total(total, "partner") + (" match" if search or status else ""))
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
    paging.pick_row("partners", "partner", table, nodes, page["pageInfo"], total,
                    {"registrationStatus": status, "search": search or None})


if partner_id := links.opened("partner"):
    partner_page(partner_id)
else:
    partner_list()
