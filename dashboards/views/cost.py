"""Cost: PLACEHOLDER, being built (issue 14). Replace this whole file."""

import streamlit as st

st.title("Cost")
st.info("This page is being built.")
