"""The `/api/v1` blueprint: a Flask-RESTful `Api` and its routes table."""

from flask import Blueprint
from flask_restful import Api

from api.v1.currencies import CurrencyDetail, CurrencyList
from api.v1.dashboard import Dashboard
from api.v1.history import CurrencyHistory
from api.v1.jobs import JobStatus
from api.v1.records import CurrencyRecords
from api.v1.search import Search
from api.v1.tokens import Tokens


class JsonErrorApi(Api):
    """Let the app's JSON error handlers answer errors, not Flask-RESTful's `{"message"}`."""

    def error_router(self, original_handler, e):
        return original_handler(e)


blueprint = Blueprint("v1", __name__, url_prefix="/api/v1")
api = JsonErrorApi(blueprint)
api.add_resource(Dashboard, "/dashboard", endpoint="dashboard")
api.add_resource(Search, "/search", endpoint="search")
api.add_resource(CurrencyList, "/currencies", endpoint="currencies")
api.add_resource(CurrencyDetail, "/currencies/<string:symbol>", endpoint="currency")
api.add_resource(CurrencyHistory, "/currencies/<string:symbol>/history", endpoint="history")
api.add_resource(CurrencyRecords, "/currencies/<string:symbol>/records", endpoint="records")
api.add_resource(Tokens, "/tokens", endpoint="tokens")
api.add_resource(JobStatus, "/jobs/<string:job_id>", endpoint="job")
