"""Failures and Spot: PLACEHOLDER, being built (issue 14). Replace this whole file."""

import streamlit as st

st.title("Failures and Spot")
st.info("This page is being built.")
