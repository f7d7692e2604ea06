"""Helpers, fakes and servers the tests use: none of them is a test."""
