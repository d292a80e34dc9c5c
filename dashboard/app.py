"""The channel managers' dashboard.

    DASHBOARD_API_URL=http://127.0.0.1:8000 streamlit run dashboard/server.py

A GraphQL client of the API, signed in with the manager's token: every decision passes
the same rules and permissions as any other client's. It never touches the database.
Every page, partner, contract and list filter has its URL (st.query_params), so that a
reload, a bookmark or a copied link opens the same view."""

import json
from pathlib import Path

import streamlit as st

from dashboard import client, session
from dashboard.shared_store import StoreUnavailable

HERE = Path(__file__).parent
# A local file: a page icon named like ":material/…:" is fetched from a font site.
st.set_page_config(page_title="Partner programme · channel managers", page_icon=str(HERE / "static" / "icon.png"),
                   layout="wide")
# Streamlit's own table export writes cells as they are, formulas included; the lists
# offer a "Download CSV" of their own, the API's, that neutralises them (S-30).
st.set_option("client.disableDataExport", True)
# At 800 px: whole button labels (a button grows rather than cut its label), and whole
# figures (a metric's value wraps rather than ends in "…").
st.html("<style>.stButton button p, .stDownloadButton button p, .stLinkButton a p "
        "{white-space: nowrap; overflow: visible; text-overflow: clip;}"
        "[data-testid='stMetricValue'] div {white-space: normal; overflow: visible; text-overflow: clip;}"
        "[data-testid='stMetricValue'] {font-size: 1.6rem; line-height: 1.2;}</style>")

PAGES = [  # (file, title, icon, url path)
    ("views/review_queue.py", "Review queue", ":material/inbox:", "queue"),
    ("views/partners.py", "Partners", ":material/business:", "partners"),
    ("views/contracts.py", "Contracts", ":material/description:", "contracts"),
    ("views/overview.py", "Overview", ":material/monitoring:", "overview"),
]
ADMIN_PAGES = [
    ("views/managers.py", "Managers", ":material/group:", "managers"),
    ("views/templates.py", "Templates", ":material/article:", "templates"),
]
SET_PASSWORD = st.Page("views/set_password.py", title="Set your password", url_path="set-password",
                       visibility="hidden")


def keep_cookie() -> None:
    """Right after signing in: send the browser to /session/adopt, which sets the HttpOnly
    cookie and comes back to this very URL (session.py). Not in AppTest, which has no
    browser."""
    ticket = st.session_state.pop("adopt_ticket", None)
    if ticket and st.context.url:
        st.html(
            "<script>window.location.replace('/session/adopt?ticket=' + encodeURIComponent("
            f"{json.dumps(ticket)}) + '&next=' + encodeURIComponent(window.location.pathname + "
            "window.location.search));</script>",
            unsafe_allow_javascript=True,
        )


try:
    signed_in = session.signed_in()
    if signed_in:
        keep_cookie()
except StoreUnavailable as error:  # Redis down: say so, and try again on the next rerun
    st.error(f"{error} Try again in a moment.")
    st.stop()

if signed_in:
    manager = session.viewer() or {}
    with st.sidebar:
        st.text(f"{manager.get('name', '')}\n{manager.get('email', '')}")  # as typed, never Markdown
        st.caption("Admin: every partner" if manager.get("role") == "ADMIN" else "Channel manager: your partners")
        if st.button("Sign out", key="sign-out"):
            client.sign_out("You signed out.")
            st.query_params.clear()
            st.rerun()
    shown = PAGES + (ADMIN_PAGES if manager.get("role") == "ADMIN" else [])
    pages = [st.Page(file, title=title, icon=icon, url_path=path, default=path == "queue")
             for file, title, icon, path in shown]
    pages.append(SET_PASSWORD)
    st.navigation(pages, position="sidebar").run()
else:
    # Every page's URL shows the sign-in form, and keeps its path and query: after signing
    # in, the same URL opens what was asked for (a copied link to a contract, say).
    pages = [st.Page("views/sign_in.py", title="Sign in", icon=":material/login:", url_path="sign-in", default=True)]
    pages += [st.Page("views/sign_in.py", title=title, url_path=path) for _, title, _, path in PAGES + ADMIN_PAGES]
    pages.append(SET_PASSWORD)
    st.navigation(pages, position="hidden").run()
