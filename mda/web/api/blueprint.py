"""The API's flask-smorest ``Api`` and its one blueprint; resources attach their routes here.

One blueprint for the whole API keeps authentication, CSRF exemption and the problem+json
error handlers in one place; each resource module tags its operations for the documentation.
"""

from __future__ import annotations

import http
import typing

import flask
from flask import abort
from flask_smorest import Api, Blueprint
from flask_smorest.spec import prepare_response
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from mda.web.api.schemas import ProblemSchema
from mda.web.hardening import JsonRefused, loads_checked

API_PREFIX = "/api/v1"
PROBLEM_JSON = "application/problem+json"


class MdaParser(FlaskParser):
    """webargs' parser, reading bodies with :func:`mda.web.hardening.loads_checked`.

    webargs parses with :func:`json.loads` itself (not Flask's provider): a body nested 1,000
    deep would raise ``RecursionError``. Too deep, or a number too long: 400 with the reason.
    """

    def _raw_load_json(self, req: flask.Request) -> typing.Any:
        if not is_json_request(req):
            return core.missing
        try:
            return loads_checked(req.get_data(cache=True))
        except JsonRefused as exc:
            abort(400, description=str(exc))


class MdaBlueprint(Blueprint):
    ARGUMENTS_PARSER = MdaParser()


bp = MdaBlueprint(
    "api",
    __name__,
    url_prefix=API_PREFIX,
    template_folder="templates",
    description="JSON API for regional systems and the programme team.",
)


class MdaApi(Api):
    """flask-smorest's Api with problem+json errors, documented and produced by ``problems``.

    flask-smorest would install an app-wide handler for every HTTP error, which would turn
    the pages' HTML error pages into JSON; ours are registered on the API blueprint instead.
    """

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:  # the blueprint has its own
        return None

    def _register_responses(self) -> None:
        # Every error response is documented as application/problem+json with ProblemSchema.
        for status in http.HTTPStatus:
            response: dict = {"description": status.phrase}
            content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                content_type = PROBLEM_JSON
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (RFC 9457 problem details)", "schema": ProblemSchema}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)
