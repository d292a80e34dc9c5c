import pandas as pd
import streamlit as st

from dashboard import client, show
from dashboard.queries import OVERVIEW

REVIEWS = {"REGISTRATION": "Registrations", "INFO_CHANGE": "Information changes", "NON_RENEWAL": "Non-renewals"}

st.title("Overview")


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def show_expiring(days: int) -> None:
    """Open the contracts list filtered to those expiring within `days`."""
    st.session_state.pop("contracts-expiring", None)  # the URL's filter wins over the last one
    st.switch_page("views/contracts.py", query_params={"expiring": str(days)})


@st.fragment(run_every=client.refresh_seconds())
def figures() -> None:
    data = client.call(OVERVIEW)["overview"]
    st.caption(f"Business date {data['today']} · figures as of {show.clock(data['asOf'])} "
               f"(kept a few seconds by the API) · refreshes every {client.refresh_seconds()} s")

    st.subheader("Pending reviews")
    for column, row in zip(st.columns(3), data["pendingReviews"]):
        oldest = f"oldest waiting {show.age(row['oldestSince'])}" if row["count"] else "nothing waits"
        column.metric(REVIEWS[row["kind"]], row["count"], oldest, delta_color="off", delta_arrow="off")

    st.subheader("Contracts expiring")
    for column, row in zip(st.columns(3), data["expiring"]):
        column.metric(f"Within {row['withinDays']} days", row["count"])
        if column.button("Show them", key=f"expiring-{row['withinDays']}"):
            show_expiring(row["withinDays"])

    left, right = st.columns(2)
    with left:
        st.subheader("Partners by registration")
        for column, row in zip(st.columns(3), data["partnersByRegistrationStatus"]):
            column.metric(show.words(row["status"]), row["count"])
    with right:
        latency = data["signingLatency"]
        st.subheader("Signing latency")
        average, worst, count = st.columns(3)
        average.metric("Average", seconds(latency["averageSeconds"]))
        worst.metric("Longest", seconds(latency["maxSeconds"]))
        count.metric("Signings", latency["signings"], help=f"Partner signings sealed since {show.when(latency['since'])}")

    st.subheader("Contracts by status")
    for i, row in enumerate(data["contractsByStatus"]):
        if i % 3 == 0:
            columns = st.columns(3)  # two rows of three: whole figures at 800 px
        columns[i % 3].metric(show.words(row["status"]), row["count"])

    left, right = st.columns(2)
    with left:
        st.subheader("Expiries per month")
        months = pd.DataFrame(data["expiriesByMonth"]).rename(columns={"month": "Month", "count": "Contracts"})
        st.bar_chart(months, x="Month", y="Contracts")
    with right:
        st.subheader("Signings per day")
        days = pd.DataFrame(data["signingsByDay"]).rename(columns={"day": "Day", "count": "Signings"})
        st.bar_chart(days, x="Day", y="Signings")


figures()
