"""The channel managers' dashboard.

    DASHBOARD_API_URL=http://127.0.0.1:8000 streamlit run dashboard/app.py

A GraphQL client of the API, signed in with the manager's token: every decision passes
the same rules and permissions as any other client's. It never touches the database."""

import streamlit as st

from dashboard import client, session

st.set_page_config(page_title="Partner programme · channel managers", page_icon=":material/handshake:", layout="wide")
# Streamlit's own table export writes cells as they are, formulas included; the lists
# offer a "Download CSV" of their own that neutralises them (show.csv).
st.set_option("client.disableDataExport", True)

if session.signed_in():
    manager = session.viewer() or {}
    with st.sidebar:
        st.markdown(f"**{manager.get('name', '')}**  \n{manager.get('email', '')}")
        st.caption("Admin: every partner" if manager.get("role") == "ADMIN" else "Channel manager: your partners")
        if st.button("Sign out", key="sign-out"):
            client.sign_out("You signed out.")
            st.rerun()
    pages = [
        st.Page("views/review_queue.py", title="Review queue", icon=":material/inbox:", default=True),
        st.Page("views/partners.py", title="Partners", icon=":material/business:"),
        st.Page("views/contracts.py", title="Contracts", icon=":material/description:"),
        st.Page("views/overview.py", title="Overview", icon=":material/monitoring:"),
    ]
else:
    pages = [st.Page("views/sign_in.py", title="Sign in", icon=":material/login:")]

st.navigation(pages).run()
