import streamlit as st

from dashboard import client

st.title("Channel managers' dashboard")
st.caption("Review registrations, information changes and non-renewals; follow partners and their contracts.")

if reason := st.session_state.get("signed_out_because"):
    st.info(reason)

if st.session_state.get("needs_code"):
    st.info("This account signs in in two steps: enter the code from your authenticator app too.")

with st.form("sign-in"):
    email = st.text_input("Email", key="sign-in-email")
    password = st.text_input("Password", type="password", key="sign-in-password")
    # Asked once the API said this manager has a second factor (SECOND_FACTOR_REQUIRED).
    code = (st.text_input("Code from your authenticator app, or a recovery code", key="sign-in-code")
            if st.session_state.get("needs_code") else None)
    submitted = st.form_submit_button("Sign in", type="primary", key="sign-in-submit")

if submitted:
    problem = client.sign_in(email.strip(), password, code)
    if problem and code is None and st.session_state.get("needs_code"):
        st.rerun()  # the form again, with the code field; email and password are kept
    elif problem:
        st.error(problem)
    else:
        st.rerun()  # the same URL, now signed in: the page, partner or contract it names
