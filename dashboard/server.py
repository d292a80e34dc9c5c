"""The dashboard as served: the pages of dashboard/app.py, and the few HTTP routes a
Streamlit page cannot be (dashboard/routes.py).

    DASHBOARD_API_URL=http://127.0.0.1:8000 streamlit run dashboard/server.py
"""

import streamlit as st

from dashboard.routes import ROUTES

app = st.App("app.py", routes=ROUTES)
