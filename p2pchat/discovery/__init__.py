"""Finding peers: mDNS (zeroconf) and addresses given by hand."""
