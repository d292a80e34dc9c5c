"""Admins: the contract template's versions, and publishing a new one after checking its
preview (for a sample partner) and its diff against the version in force."""

import pandas as pd
import streamlit as st

from dashboard import client, session, show
from dashboard.queries import PUBLISH_TEMPLATE, TEMPLATE_DRAFT, TEMPLATES

st.title("Templates")
if (session.viewer() or {}).get("role") != "ADMIN":
    st.error("Only admins publish contract templates.")
    st.stop()

if published := st.session_state.pop("template-published", None):
    st.toast(published, icon=":material/check_circle:")
    st.success(published)
versions = client.call(TEMPLATES)["contractTemplates"]
current = next((v for v in versions if v["inForce"]), None)
st.subheader("Versions")
st.caption(show.total(len(versions), "version"))
st.dataframe(pd.DataFrame([
    {"Version": v["version"], "Title": v["title"], "In force": "Yes" if v["inForce"] else "",
     "Published": show.when(v["publishedAt"]), "By": v["publishedBy"] or "(bundled or command line)",
     "Contracts": v["contracts"]}
    for v in versions
]), hide_index=True, width="stretch", key="templates-table")

st.subheader("Publish a new version")
st.caption("Unsigned contracts move to it (a partner who read the old text must read it again); "
           "signed contracts keep theirs. Check the preview and the diff first.")
uploaded = st.file_uploader("From a text file", type=["txt", "md"], key="template-file")
if uploaded is not None and st.session_state.get("template-file-seen") != uploaded.file_id:
    st.session_state["template-file-seen"] = uploaded.file_id
    st.session_state["template-body"] = uploaded.getvalue().decode("utf-8")
st.session_state.setdefault("template-title", current["title"] if current else "")
st.session_state.setdefault("template-body", current["body"] if current else "")
title = st.text_input("Title", key="template-title")
body = st.text_area("Text, with $placeholders", key="template-body", height=260)

if st.button("Preview and diff", key="template-check"):
    st.session_state["template-draft"] = (title, body, client.result_of(
        TEMPLATE_DRAFT, {"title": title, "body": body}, "templateDraft"))
drafted_title, drafted_body, draft = st.session_state.get("template-draft") or (None, None, None)
if draft and draft["__typename"] == "OperationError":
    st.error(draft["message"])
elif draft:
    changed = (drafted_title, drafted_body) != (title, body)
    st.markdown(f"Version {draft['version']} against version {draft['againstVersion']} · "
                f"{show.total(draft['unsignedContracts'], 'unsigned contract')} would move to it")
    diff, preview = st.tabs(["Diff", "Preview for a sample partner"])
    diff.code(draft["diff"] or "(no change)", language="diff")
    preview.code(draft["preview"], language=None, wrap_lines=True)
    if changed:
        st.warning("The text changed since this preview: preview it again before publishing.")
    elif st.button(f"Publish version {draft['version']}", type="primary", key="template-publish"):
        result = client.result_of(PUBLISH_TEMPLATE, {"title": title, "body": body}, "publishTemplate")
        if result["__typename"] == "PublishTemplateSuccess":
            st.session_state.pop("template-draft", None)
            st.session_state["template-published"] = (
                f"Version {result['template']['version']} is in force; "
                f"{result['contractsMoved']} unsigned contracts moved to it.")
            st.rerun()
        else:
            st.error(result["message"])
