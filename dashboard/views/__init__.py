"""The dashboard pages, one module each; st.navigation runs them as scripts."""
