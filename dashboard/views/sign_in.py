import streamlit as st

from dashboard import client

st.title("Channel managers' dashboard")
st.caption("Review registrations, information changes and non-renewals; follow partners and their contracts.")

if reason := st.session_state.get("signed_out_because"):
    st.info(reason)

with st.form("sign-in"):
    email = st.text_input("Email", key="sign-in-email")
    password = st.text_input("Password", type="password", key="sign-in-password")
    submitted = st.form_submit_button("Sign in", type="primary", key="sign-in-submit")

if submitted:
    if problem := client.sign_in(email.strip(), password):
        st.error(problem)
    else:
        st.rerun()  # the same URL, now signed in: the page, partner or contract it names
