import streamlit as st

from dashboard import client, links, paging, session, show
from dashboard.queries import CONTRACT, CONTRACTS, DOCUMENT_CHECK, MARKETS, REMIND_PARTNER

STATUSES = ["PENDING_SIGNATURE", "SIGNING", "SIGNING_FAILED", "SIGNED", "ACTIVE", "EXPIRED"]
UNSIGNED = {"PENDING_SIGNATURE", "SIGNING_FAILED"}  # what a partner can still be reminded to sign
RENEWAL_STATUSES = ["AUTO", "RENEWAL_PENDING_SIGNATURE", "RENEWED", "NON_RENEWAL_IN_REVIEW", "NOT_RENEWING"]


@st.cache_data(ttl=3600, show_spinner=False)
def markets(api: str) -> dict[str, str]:
    return {m["code"]: m["name"] for m in client.execute(MARKETS)["markets"]}


def remind(contract_id: str) -> None:
    """Button callback: ask the API to remind the partner, and keep what came of it."""
    result = client.result_of(REMIND_PARTNER, {"id": contract_id}, "remindPartnerToSign")
    if result["__typename"] == "RemindPartnerSuccess":
        note = ("success", "Reminder sent: the partner's users get an email now, and the reminder is in the "
                           "audit timeline.")
    elif result["code"] == "TOO_MANY_ATTEMPTS":
        note = ("warning", result["message"])
    elif result["code"] == "UNAUTHENTICATED":
        session.sign_out("Your sign-in has expired. Sign in again.")
        return
    else:
        note = ("error", f"Could not remind the partner: {result['message']}")
    st.session_state[f"remind-{contract_id}"] = note


def reminder(contract: dict) -> None:
    """On a contract still waiting for the partner's signature: "Remind partner to sign"."""
    if contract["status"] not in UNSIGNED:
        return
    st.button("Remind partner to sign", key="contract-remind", icon=":material/notifications:",
              on_click=remind, args=(contract["id"],))
    st.caption("Emails the partner's users now; at most once a business day per contract.")
    if note := st.session_state.pop(f"remind-{contract['id']}", None):
        level, text = note
        {"success": st.success, "warning": st.warning, "error": st.error}[level](text)


def signature_check(contract: dict) -> None:
    st.subheader("Signature")
    document = contract["document"]
    if document is None:
        st.info("No signed document yet: the programme seals it once the partner has signed.")
        return
    check = client.call(DOCUMENT_CHECK, {"id": contract["id"]})["documentCheck"]
    if check["__typename"] == "OperationError":
        st.warning(check["message"])
    elif check["valid"]:
        st.success("The seal is valid: the PDF is the one recorded at sealing, intact, sealed by the "
                   "programme, and nothing was added after sealing.")
    else:
        failed = [label for key, label in [
            ("sha256Matches", "the file is not the one recorded at sealing"),
            ("signatureIntact", "the signed bytes were changed"),
            ("signatureTrusted", "the seal does not chain to the programme's root"),
            ("coversWholeFile", "something was added after sealing"),
        ] if not check[key]]
        st.error("The seal does not validate: " + "; ".join(failed) + ".")
    st.caption(f"SHA-256 {document['sha256']} · {document['size']:,} bytes")
    try:
        pdf = client.download(document["url"], client.access_token())
    except (client.ApiError, client.ApiUnavailable) as error:
        st.warning(f"The signed PDF cannot be downloaded now: {error}")
        return
    st.download_button("Download signed PDF", pdf, file_name=f"contract-{contract['id']}.pdf",
                       mime="application/pdf", key="contract-download", on_click="ignore")


def contract_page(contract_id: str) -> None:
    data = paging.item_page(CONTRACT, "contract", contract_id)
    if data is None:
        return
    contract = data["contract"]
    partner = contract["partner"]
    st.title(f"Contract {contract['id'][:8]}")
    st.caption(f"{show.words(contract['kind'])} contract of {show.md(partner['info']['legalName'])} "
               f"· id {contract['id']}")
    if st.button("Open the partner", key="contract-partner", icon=":material/business:"):
        links.open_page("views/partners.py", "partner", partner["id"])

    status, days, renewal = st.columns(3)
    status.metric("Status", show.words(contract["status"]))
    days.metric("Days left", show.days_left(contract["daysLeft"]))
    renewal.metric("Renewal", show.words(contract["renewalStatus"]))
    if contract["signingError"]:
        st.error(f"Signing failed: {show.md(contract['signingError'])}")
    reminder(contract)

    window = contract["renewalWindow"]
    hold = contract["nonRenewalRequest"]
    st.subheader("Dates")
    st.table({
        "": ["Effective on", "Expires on", "Renewal window", "Non-renewal allowed until", "Non-renewal request",
             "Signed", "Sealed", "Template version", "Auto-renewed", "Renewal of", "Renewed by"],
        "Value": [
            contract["effectiveOn"] or "—",
            contract["expiresOn"] or "—",
            f"{window['opensOn']} to {window['closesOn']} ({'open' if window['isOpen'] else 'closed'} today)"
            if window else "—",
            contract["nonRenewalAllowedUntil"] or "—",
            f"{show.words(hold['status'])}: {show.md(hold['reason'] or '(no reason given)')}" if hold else "—",
            show.when(contract["signedAt"]),
            show.when(contract["sealedAt"]),
            str(contract["templateVersion"]),
            "Yes" if contract["autoRenewed"] else "No",
            contract["predecessor"]["id"][:8] if contract["predecessor"] else "—",
            f"{contract['successor']['id'][:8]} ({show.words(contract['successor']['status'])})"
            if contract["successor"] else "—",
        ],
    })
    st.subheader("Regions")
    st.write(", ".join(f"{r['name']} ({r['code']})" for r in contract["regions"]) or "Not chosen yet.")

    signature_check(contract)

    st.subheader("Audit timeline")
    events = data["auditEvents"]
    st.caption(show.total(events["totalCount"], "event"))
    st.dataframe(show.timeline(events["nodes"]).drop(columns=["Contract"]), hide_index=True, width="stretch")
    paging.events_pager("contract", contract_id, events)


FILTERS = {  # widget key: (query parameter, parse)
    "contracts-status": ("status", lambda v: v if v in STATUSES else None),
    "contracts-renewal": ("renewal", lambda v: v if v in RENEWAL_STATUSES else None),
    "contracts-region": ("region", str.upper),
    "contracts-expiring": ("expiring", lambda v: min(3660, max(0, int(v)))),
}


def contract_list() -> None:
    st.title("Contracts")
    names = markets(client.api_url())
    links.restore_filters("contracts", FILTERS)
    if st.session_state.get("contracts-region") not in (None, *names):
        st.session_state["contracts-region"] = None  # a market the programme does not sell in
    status_box, renewal_box = st.columns(2)
    region_box, expiring_box = st.columns(2)
    status = status_box.selectbox("Status", STATUSES, index=None, format_func=show.words,
                                  key="contracts-status", placeholder="Any")
    renewal = renewal_box.selectbox("Renewal status", RENEWAL_STATUSES, index=None, format_func=show.words,
                                    key="contracts-renewal", placeholder="Any")
    region = region_box.selectbox("Region", list(names), index=None, key="contracts-region",
                                  format_func=lambda code: f"{names.get(code, code)} ({code})", placeholder="Any")
    expiring = expiring_box.number_input("Expiring within (days)", min_value=0, max_value=3660, value=None,
                                         step=1, key="contracts-expiring", placeholder="Any")
    filters = {"status": status, "renewalStatus": renewal, "region": region,
               "expiringWithinDays": int(expiring) if expiring is not None else None}
    links.keep_filters("contracts", {"status": status, "renewal": renewal, "region": region,
                                     "expiring": filters["expiringWithinDays"]})
    after = paging.pager_cursor("contracts", tuple(filters.values()))
    page = client.call(CONTRACTS, {"after": after, **filters})["contracts"]
    nodes, total = page["nodes"], page["totalCount"]
    filtered = any(v is not None for v in filters.values())
    if not nodes:
        st.info("No contracts match these filters." if filtered else "No contracts yet.")
        return
    st.caption(show.total(total, "contract") + (" match these filters" if filtered else ""))
    paging.pick_row("contracts", "contract", show.contracts(nodes, with_partner=True), nodes, page["pageInfo"],
                    total, filters)


if contract_id := links.opened("contract"):
    contract_page(contract_id)
else:
    contract_list()
