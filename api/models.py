"""The database models: `Currency` (a coin), `Record` (its daily candles), `Supply` (its
circulating supply on known days), `User` (an API user) and `Token` (a user's bearer token).

They are defined without Flask in `utilities/schema.py`, so the seeder and ingestion share the
same tables as the API; this module is where the app imports them from.
"""

from utilities.schema import ROLES, Currency, Record, Supply, Token, User, utcnow

__all__ = ["ROLES", "Currency", "Record", "Supply", "Token", "User", "utcnow"]
