"""The page an invitation's one-time link opens: DASHBOARD_BASE_URL/set-password?token=…"""

import streamlit as st

from dashboard import client
from dashboard.queries import SET_PASSWORD

st.title("Set your password")
link_token = st.query_params.get("token")
if st.session_state.get("password-set"):
    st.success("Your password is set. Sign in with your email and the new password.")
    st.link_button("Sign in", "/", icon=":material/login:")
    st.stop()
if not link_token:
    st.error("This page needs the link from your invitation. Ask an admin for a new one.")
    st.stop()

st.caption("Choose the password you will sign in with. The link works once.")
with st.form("set-password"):
    password = st.text_input("New password", type="password", key="set-password-new")
    again = st.text_input("New password, again", type="password", key="set-password-again")
    submitted = st.form_submit_button("Set password", type="primary", key="set-password-submit")

if submitted:
    if password != again:
        st.error("The two passwords differ. Type the same password twice.")
    else:
        try:
            result = client.execute(SET_PASSWORD, {"token": link_token, "password": password})["setPassword"]
        except (client.ApiError, client.ApiUnavailable) as error:
            result = {"__typename": "OperationError", "message": str(error)}
        if result["__typename"] == "SetPasswordSuccess":
            st.session_state["password-set"] = True
            st.query_params.clear()  # the link is spent: keep it out of the address bar
            st.rerun()
        else:
            st.error(result["message"])
