"""The clinic's command line (``ipt-admin``)."""
