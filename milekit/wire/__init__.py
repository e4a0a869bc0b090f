"""The wire: the one Client (requests, retries, pages), the rate limiter, the token and
remembered sign-ins, the error tree, the API's envelopes.
"""
