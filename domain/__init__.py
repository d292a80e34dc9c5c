"""The partner contract programme: its rules, models and use cases.

Nothing here knows about GraphQL, HTTP, arq or Streamlit.
"""
