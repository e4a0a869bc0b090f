"""The types: the resource registry (generated from MileApp's OpenAPI contract, with
corrections), API types to Arrow and pandas, and values to and from the API's JSON.
"""
