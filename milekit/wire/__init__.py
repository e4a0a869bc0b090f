"""The wire: the one Client (client.py) and the parts it composes, lowest first: what a
request hands up (response.py, stats.py), the retry rules and waits (retry.py), the rate
limiter (ratelimit.py, pacing.py), the transport and error mapping (transport.py), the
retry loop (attempts.py), the API's envelopes and list shapes (envelope.py), the page walk
(paging.py), the token and remembered sign-ins (auth.py, credentials.py), the organisation
a shared window is keyed by (organization.py).
"""
