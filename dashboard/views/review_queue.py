import time

import streamlit as st

from dashboard import client, paging, session, show
from dashboard.queries import (
    APPROVE_REGISTRATION,
    PUSHED_CONTRACTS,
    REJECT_REGISTRATION,
    REVIEW_INFO_CHANGE,
    REVIEW_NON_RENEWAL,
    REVIEW_QUEUE,
)

KINDS = {"registration": "registration", "info-change": "information change", "non-renewal": "non-renewal"}

st.title("Review queue")


def _note(level: str, text: str) -> None:
    st.session_state.setdefault("decisions", []).insert(0, (level, text))


def decide(kind: str, item_id: str, label: str, approve: bool) -> None:
    """Form callback: send the decision, and note what came of it."""
    comment = (st.session_state.get(f"comment-{kind}-{item_id}") or "").strip() or None
    if kind == "registration":
        query = APPROVE_REGISTRATION if approve else REJECT_REGISTRATION
        variables = {"id": item_id, "comment": comment if approve else (comment or "")}
    else:
        query = REVIEW_INFO_CHANGE if kind == "info-change" else REVIEW_NON_RENEWAL
        variables = {"id": item_id, "approve": approve, "comment": comment}
    result = client.result_of(query, variables, "decision")
    what = f"the {KINDS[kind]} of {label}"
    if result["__typename"] != "OperationError":
        verdict = "Approved" if approve else "Rejected"
        text = f"{verdict} {what}."
        if kind == "registration" and approve:
            pushed = client.result_of(PUSHED_CONTRACTS, {"partnerId": item_id}, "contracts")
            statuses = [show.words(c["status"]) for c in pushed.get("nodes", [])]
            text += f" Its initial contract was pushed to the partner ({', '.join(statuses) or 'not found'})."
        if kind == "non-renewal":
            text += f" Its contract: {show.words(result['request']['contract']['renewalStatus']).lower()}."
        _note("success", text)
    elif result["code"] == "ALREADY_DECIDED":
        _note("warning", f"Another manager decided {what} first. {result['message']} It has left your queue.")
    elif result["code"] == "UNAUTHENTICATED":
        session.sign_out("Your sign-in has expired. Sign in again.")
    elif result.get("field") == "comment" and not approve and not comment:
        _note("error", f"To reject {what}, write a comment: the partner learns why.")
    else:
        _note("error", f"Could not decide {what}: {result['message']}")


def decision_form(kind: str, item_id: str, label: str) -> None:
    with st.form(f"form-{kind}-{item_id}", border=False):
        st.text_area("Comment", key=f"comment-{kind}-{item_id}", height=68,
                     placeholder="Optional when approving; the partner reads it when you reject.")
        approve, reject, _ = st.columns([1, 1, 5])
        approve.form_submit_button("Approve", type="primary", key=f"approve-{kind}-{item_id}",
                                   on_click=decide, args=(kind, item_id, label, True))
        reject.form_submit_button("Reject", key=f"reject-{kind}-{item_id}",
                                  on_click=decide, args=(kind, item_id, label, False))


def registration(partner: dict) -> None:
    info = partner["info"]
    with st.container(border=True, key=f"registration-{partner['id']}"):
        st.markdown(f"**{info['legalName']}** · registration")
        st.caption(f"Submitted {show.when(partner['registeredAt'])} · waiting {show.age(partner['registeredAt'])}"
                   f" · manager {(partner['manager'] or {}).get('name', '—')}")
        st.markdown(
            f"Registration no. {info['registrationNumber']}  \n{info['address']}  \n"
            f"{info['contactName']} · {info['email']} · {info['phone']}"
        )
        decision_form("registration", partner["id"], info["legalName"])


def info_change(request: dict) -> None:
    name = request["partner"]["info"]["legalName"]
    with st.container(border=True, key=f"info-change-{request['id']}"):
        st.markdown(f"**{name}** · information change")
        st.caption(f"Requested {show.when(request['createdAt'])} · waiting {show.age(request['createdAt'])}")
        st.table({
            "Field": [show.words(c["field"]) for c in request["changes"]],
            "Before": [c["before"] for c in request["changes"]],
            "After": [c["after"] for c in request["changes"]],
        })
        st.markdown(f"Reason: {request['reason']}")
        decision_form("info-change", request["id"], name)


def non_renewal(request: dict) -> None:
    name = request["partner"]["info"]["legalName"]
    contract = request["contract"]
    window = contract["renewalWindow"] or {}
    with st.container(border=True, key=f"non-renewal-{request['id']}"):
        st.markdown(f"**{name}** · non-renewal")
        st.caption(f"Requested {show.when(request['createdAt'])} · waiting {show.age(request['createdAt'])}")
        st.markdown(
            f"Contract `{contract['id'][:8]}` ({show.words(contract['kind'])}, {show.words(contract['status'])}): "
            f"in force {contract['effectiveOn']} to {contract['expiresOn']}, {contract['daysLeft']} days left  \n"
            f"Regions: {', '.join(r['code'] for r in contract['regions']) or '—'} · "
            f"renewal window {window.get('opensOn', '—')} to {window.get('closesOn', '—')} · "
            f"non-renewal allowed until {contract['nonRenewalAllowedUntil']}  \n"
            f"Reason: {request['reason'] or '(none given)'}"
        )
        decision_form("non-renewal", request["id"], name)
        if st.button("Open contract", key=f"open-{request['id']}"):
            st.session_state["contract_id"] = contract["id"]
            st.switch_page("views/contracts.py")


SECTIONS = [
    ("Registrations", "partners", "registrations", registration),
    ("Information changes", "infoChangeRequests", "info-changes", info_change),
    ("Non-renewals", "nonRenewalRequests", "non-renewals", non_renewal),
]


@st.fragment(run_every=client.refresh_seconds())
def queue() -> None:
    for level, text in st.session_state.get("decisions", [])[:5]:
        getattr(st, level)(text)
    cursors = {name: paging.pager_cursor(name, ()) for _, _, name, _ in SECTIONS}
    data = client.call(REVIEW_QUEUE, {
        "registrations": cursors["registrations"],
        "infoChanges": cursors["info-changes"],
        "nonRenewals": cursors["non-renewals"],
    })
    st.caption(f"Refreshes every {client.refresh_seconds()} s · updated {time.strftime('%H:%M:%S')}")
    for title, field, name, render in SECTIONS:
        page = data[field]
        more = "+" if page["pageInfo"]["hasNextPage"] else ""
        st.subheader(f"{title} ({len(page['nodes'])}{more})")
        if not page["nodes"] and not cursors[name]:
            st.caption("Nothing waits.")
        for item in page["nodes"]:
            render(item)
        if page["pageInfo"]["hasNextPage"] or cursors[name]:
            paging.pager(name, page["pageInfo"], len(page["nodes"]))


queue()
