"""RTP/RTCP (RFC 3550), H.264 payload (RFC 6184) and G.711 (ITU-T G.711, RFC 3551): pure
codecs. ``codec``: packets; ``h264``: NAL units <-> RTP payloads; ``g711``: mu-law samples."""
