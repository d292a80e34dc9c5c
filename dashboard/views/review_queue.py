"""The review queue: registrations, information changes and non-renewals, oldest first.

Everything a partner typed is shown as text (show.md, st.text, dataframes), never as
Markdown or HTML (#14, 3). A decision answers with a toast, where the manager is looking.
A card that leaves the queue while the manager writes in it stays, greyed, with why it left
and the comment kept, until they dismiss it."""

from datetime import UTC, datetime

import streamlit as st

from dashboard import client, links, paging, session, show
from dashboard.queries import (
    APPROVE_REGISTRATION,
    DECIDE_REGISTRATIONS,
    INFO_CHANGE_DECIDED,
    NON_RENEWAL_DECIDED,
    PUSHED_CONTRACTS,
    REGISTRATION_DECIDED,
    REJECT_REGISTRATION,
    REVIEW_INFO_CHANGE,
    REVIEW_NON_RENEWAL,
    REVIEW_QUEUE,
)

KINDS = {"registration": "registration", "info-change": "information change", "non-renewal": "non-renewal"}
REQUEST_DECIDED = {"info-change": INFO_CHANGE_DECIDED, "non-renewal": NON_RENEWAL_DECIDED}

st.title("Review queue")


def _toast(icon: str, text: str) -> None:
    st.session_state.setdefault("toasts", []).append((icon, text))


def _left_queue(kind: str, item_id: str) -> None:
    """The item is decided (here or elsewhere): no ghost card for it, no comment kept."""
    st.session_state.get("cards", {}).pop(f"{kind}-{item_id}", None)
    st.session_state.get("ghosts", {}).pop(f"{kind}-{item_id}", None)
    st.session_state.pop(f"comment-{kind}-{item_id}", None)


def decide(kind: str, item_id: str, label: str, approve: bool) -> None:
    """Button callback: send the decision, and say what came of it in a toast."""
    comment = (st.session_state.get(f"comment-{kind}-{item_id}") or "").strip() or None
    if kind == "registration":
        query = APPROVE_REGISTRATION if approve else REJECT_REGISTRATION
        variables = {"id": item_id, "comment": comment if approve else (comment or "")}
    else:
        query = REVIEW_INFO_CHANGE if kind == "info-change" else REVIEW_NON_RENEWAL
        variables = {"id": item_id, "approve": approve, "comment": comment}
    result = client.result_of(query, variables, "decision")
    what = f"the {KINDS[kind]} of {show.md(label)}"
    if result["__typename"] != "OperationError":
        verdict = "Approved" if approve else "Rejected"
        text = f"{verdict} {what}."
        if kind == "registration" and approve:
            pushed = client.result_of(PUSHED_CONTRACTS, {"partnerId": item_id}, "contracts")
            statuses = [show.words(c["status"]) for c in pushed.get("nodes", [])]
            text += f" Its initial contract was pushed to the partner ({', '.join(statuses) or 'not found'})."
        if kind == "non-renewal":
            text += f" Its contract: {show.words(result['request']['contract']['renewalStatus']).lower()}."
        _toast(":material/check_circle:", text)
        _left_queue(kind, item_id)
    elif result["code"] == "ALREADY_DECIDED":
        # The API says who decided, when (with its zone) and how: "You approved this at
        # 14:02 (UTC).", "Alice Chen rejected this at 14:01 (UTC): …", "The partner
        # withdrew this request at 14:00 (UTC).".
        _toast(":material/info:", f"{show.md(label)}, {KINDS[kind]}: {show.md(result['message'])} "
                                  "It has left your queue.")
        _left_queue(kind, item_id)
    elif result["code"] == "UNAUTHENTICATED":
        session.sign_out("Your sign-in has expired. Sign in again.")
    elif result.get("field") == "comment" and not approve and not comment:
        _toast(":material/edit_note:", f"To reject {what}, write a comment: the partner learns why.")
    else:
        _toast(":material/error:", f"Could not decide {what}: {show.md(result['message'])}")


def dismiss(card: str) -> None:
    if ghost := st.session_state.get("ghosts", {}).pop(card, None):
        kind, item, _ = ghost
        st.session_state.pop(f"comment-{kind}-{item['id']}", None)


def decision_form(kind: str, item_id: str, label: str, ghost: bool = False) -> None:
    # No st.form: a form keeps what is typed in the browser until submitted, so a card
    # that left the queue would take a half-written comment with it.
    st.text_area("Comment", key=f"comment-{kind}-{item_id}", height=68,
                 placeholder="Optional when approving; the partner reads it when you reject.")
    approve, reject, _ = st.columns([1, 1, 3])
    approve.button("Approve", type="primary", key=f"approve-{kind}-{item_id}", disabled=ghost,
                   on_click=decide, args=(kind, item_id, label, True), width="stretch")
    reject.button("Reject", key=f"reject-{kind}-{item_id}", disabled=ghost,
                  on_click=decide, args=(kind, item_id, label, False), width="stretch")


def heading(name: str, what: str, since: str) -> None:
    st.markdown(f"**{show.md(name)}** · {what}")
    st.caption(f"Waiting {show.age(since)} · submitted {show.when(since)}")


def registration(partner: dict, ghost: bool = False) -> None:
    info = partner["info"]
    heading(info["legalName"], "registration", partner["registeredAt"])
    st.text(f"Registration no. {info['registrationNumber']}\n{info['address']}\n"
            f"{info['contactName']} · {info['email']} · {info['phone']}\n"
            f"Channel manager: {(partner['manager'] or {}).get('name', '—')}")
    if not ghost:
        st.checkbox("Select for a bulk decision", key=f"bulk-{partner['id']}")
    decision_form("registration", partner["id"], info["legalName"], ghost)


def info_change(request: dict, ghost: bool = False) -> None:
    name = request["partner"]["info"]["legalName"]
    heading(name, "information change", request["createdAt"])
    st.dataframe(
        {
            "Field": [show.field_label(c["field"]) for c in request["changes"]],
            "Before": [c["before"] for c in request["changes"]],
            "After": [c["after"] for c in request["changes"]],
        },
        hide_index=True, width="stretch", key=f"changes-{request['id']}",
    )
    st.text(f"Reason: {request['reason']}")
    decision_form("info-change", request["id"], name, ghost)


def non_renewal(request: dict, ghost: bool = False) -> None:
    name = request["partner"]["info"]["legalName"]
    contract = request["contract"]
    window = contract["renewalWindow"] or {}
    heading(name, "non-renewal", request["createdAt"])
    st.text(
        f"Contract {contract['id'][:8]} ({show.words(contract['kind'])}, {show.words(contract['status'])}): "
        f"in force {contract['effectiveOn']} to {contract['expiresOn']}, {show.days_left(contract['daysLeft'])} left\n"
        f"Regions: {', '.join(r['code'] for r in contract['regions']) or '—'} · "
        f"renewal window {window.get('opensOn', '—')} to {window.get('closesOn', '—')} · "
        f"non-renewal allowed until {contract['nonRenewalAllowedUntil']}\n"
        f"Reason: {request['reason'] or '(none given)'}"
    )
    decision_form("non-renewal", request["id"], name, ghost)
    if not ghost and st.button("Open contract", key=f"open-{request['id']}"):
        links.open_page("views/contracts.py", "contract", contract["id"])


SECTIONS = [  # title, query field, list name, card kind, render
    ("Registrations", "partners", "registrations", "registration", registration),
    ("Information changes", "infoChangeRequests", "info-changes", "info-change", info_change),
    ("Non-renewals", "nonRenewalRequests", "non-renewals", "non-renewal", non_renewal),
]
RENDER = {kind: render for _, _, _, kind, render in SECTIONS}


def _decided(status: str, by: dict | None, at: str | None, comment: str | None) -> str:
    """Who decided, how and when, as the API tells a late decision (ALREADY_DECIDED)."""
    if status == "WITHDRAWN":
        return f"The partner withdrew this request at {show.when(at)}."
    mine = (by or {}).get("id") == (session.viewer() or {}).get("id")
    who = "You" if mine else show.md((by or {}).get("name") or "Someone else")
    verdict = "approved" if status == "APPROVED" else "rejected"
    # The comment quoted, so that the notice's next sentence does not run on from it.
    return f"{who} {verdict} this at {show.when(at)}" + (f": “{show.md(comment)}”." if comment else ".")


def why_it_left(kind: str, item_id: str) -> str:
    """Who decided the item and when, or that the partner withdrew it: the registration
    itself, or the request (the list, narrowed to its id)."""
    if kind == "registration":
        found = client.result_of(REGISTRATION_DECIDED, {"id": item_id}, "partner")
        if found.get("__typename") == "Partner":
            if found["registrationStatus"] != "PENDING_REVIEW":
                return _decided(found["registrationStatus"], found.get("reviewedBy"), found["reviewedAt"],
                                found.get("reviewComment"))
            return "It still waits for a decision, further on in the queue."
    else:
        found = client.result_of(REQUEST_DECIDED[kind], {"ids": [item_id]}, "requests")
        if found.get("__typename") != "OperationError":
            if not found["nodes"]:
                return "It is no longer yours to review (moved to another manager, or removed)."
            request = found["nodes"][0]
            if request["status"] != "IN_REVIEW":
                return _decided(request["status"], request.get("decidedBy"), request["decidedAt"],
                                request.get("comment"))
            return "It still waits for a decision, further on in the queue."
    if found.get("code") in ("NOT_FOUND", "FORBIDDEN"):
        return "It is no longer yours to review (moved to another manager, or removed)."
    return "It was decided or withdrawn elsewhere; the API could not say more just now."


def keep_ghosts(cards_now: dict[str, dict], cursors: tuple) -> None:
    """Cards shown last time, on the same pages, that are gone now and had a comment
    typed: keep them as ghosts with why they left."""
    before = st.session_state.get("cards", {})
    ghosts = st.session_state.setdefault("ghosts", {})
    for card in [c for c in ghosts if c in cards_now]:  # back in the queue (a paging race)
        del ghosts[card]
    if st.session_state.get("cards-cursors") == cursors:
        for card, (kind, item) in before.items():
            typed = (st.session_state.get(f"comment-{kind}-{item['id']}") or "").strip()
            if card not in cards_now and card not in ghosts and typed:
                ghosts[card] = (kind, item, why_it_left(kind, item["id"]))
    st.session_state["cards"] = cards_now
    st.session_state["cards-cursors"] = cursors


@st.fragment(run_every=client.refresh_seconds())
def queue() -> None:
    for icon, text in st.session_state.pop("toasts", []):
        st.toast(text, icon=icon, duration="long")
    cursors = {name: paging.pager_cursor(name, ()) for _, _, name, _, _ in SECTIONS}
    data = client.call(REVIEW_QUEUE, {
        "registrations": cursors["registrations"],
        "infoChanges": cursors["info-changes"],
        "nonRenewals": cursors["non-renewals"],
    })
    cards_now = {f"{kind}-{item['id']}": (kind, item)
                 for _, field, _, kind, _ in SECTIONS for item in data[field]["nodes"]}
    keep_ghosts(cards_now, tuple(cursors.values()))
    st.caption(f"Oldest first · refreshes every {client.refresh_seconds()} s · "
               f"updated {show.clock(datetime.now(UTC).isoformat())}")

    for card, (kind, item, why) in list(st.session_state.get("ghosts", {}).items()):
        with st.container(border=True, key=f"ghost-{card}"):
            st.warning(f"This {KINDS[kind]} left your queue while you were writing. {why} "
                       "Your comment is kept below.", icon=":material/history:")
            RENDER[kind](item, ghost=True)
            st.button("Dismiss", key=f"dismiss-{card}", on_click=dismiss, args=(card,))

    for title, field, name, kind, render in SECTIONS:
        page = data[field]
        st.subheader(f"{title} · {page['totalCount']:,} waiting")
        if kind == "registration":
            bulk_bar(page["nodes"])
        if not page["nodes"] and not cursors[name]:
            st.caption("Nothing waits.")
        for item in page["nodes"]:
            with st.container(border=True, key=f"{kind}-{item['id']}"):
                render(item)
        if page["pageInfo"]["hasNextPage"] or cursors[name]:
            paging.pager(name, page["pageInfo"], len(page["nodes"]), page["totalCount"])


def decide_selected(names: dict[str, str], approve: bool) -> None:
    """Button callback: one comment for every selected registration; each is decided on
    its own by the API, and each result is listed."""
    ids = [i for i in names if st.session_state.get(f"bulk-{i}")]
    comment = (st.session_state.get("bulk-comment") or "").strip() or None
    if not approve and not comment:
        _toast(":material/edit_note:", "To reject, write a comment: each partner learns why.")
        return
    result = client.result_of(DECIDE_REGISTRATIONS, {"ids": ids, "approve": approve, "comment": comment},
                              "decision")
    if result["__typename"] == "OperationError":
        if result["code"] == "UNAUTHENTICATED":
            session.sign_out("Your sign-in has expired. Sign in again.")
            return
        _toast(":material/error:", f"Could not decide them: {show.md(result['message'])}")
        return
    verdict = "Approved" if approve else "Rejected"
    rows = []
    for item in result["results"]:
        name = names.get(item["partnerId"], item["partnerId"])
        if item["error"]:
            rows.append({"Partner": name, "Result": item["error"]["message"]})
        else:
            rows.append({"Partner": name, "Result": verdict})
            _left_queue("registration", item["partnerId"])
        st.session_state.pop(f"bulk-{item['partnerId']}", None)
    st.session_state["bulk-results"] = rows
    st.session_state.pop("bulk-comment", None)
    refused = len(rows) - result["decided"]
    _toast(":material/check_circle:", f"{verdict} {result['decided']} of {len(rows)} registrations."
           + (f" {refused} had left your queue: see the list." if refused else ""))


def bulk_bar(nodes: list[dict]) -> None:
    """Approve or reject the selected registrations with one comment."""
    if rows := st.session_state.get("bulk-results"):
        st.dataframe(rows, hide_index=True, width="stretch", key="bulk-results-table")
        st.button("Dismiss the results", key="bulk-results-dismiss",
                  on_click=lambda: st.session_state.pop("bulk-results", None))
    names = {n["id"]: n["info"]["legalName"] for n in nodes}
    selected = [i for i in names if st.session_state.get(f"bulk-{i}")]
    if not selected:
        return
    with st.container(border=True, key="bulk-bar"):
        st.text_area(f"One comment for the {len(selected)} selected", key="bulk-comment", height=68,
                     placeholder="Optional when approving; each partner reads it when you reject.")
        approve, reject, _ = st.columns([1, 1, 1])
        approve.button(f"Approve {len(selected)} selected", type="primary", key="bulk-approve",
                       on_click=decide_selected, args=(names, True), width="stretch")
        reject.button(f"Reject {len(selected)} selected", key="bulk-reject",
                      on_click=decide_selected, args=(names, False), width="stretch")


queue()
