"""Writes: the diff of an edited frame against its snapshot, and the push (with its
journal).
"""
