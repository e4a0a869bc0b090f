"""Reads: typed frames of lists, objects by id, views and child tables; custom
columns; flat frames; the named helpers.
"""
