"""Runs: PLACEHOLDER, being built (issue 14). Replace this whole file."""

import streamlit as st

st.title("Runs")
st.info("This page is being built.")
