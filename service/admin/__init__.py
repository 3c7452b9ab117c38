"""The wellness leads' dashboard under /admin (server-rendered, behind a login)."""
