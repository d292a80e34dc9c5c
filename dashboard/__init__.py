"""The channel managers' dashboard: a Streamlit app that is a GraphQL client of the API."""
