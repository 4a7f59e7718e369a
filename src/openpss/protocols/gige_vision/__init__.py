"""GigE Vision transport.

Codecs: `gvcp` (control), `gvsp` (streaming). Device side: `server` (GVCP), `streamer` (GVSP),
`messages` (message channel). Application side: `client` (GVCP), `receiver` (GVSP), `camera`
(client + GenICam node map + receiver), `nodemap` (feature tree, feature files), `gentl`
(other transports through harvesters).
"""
